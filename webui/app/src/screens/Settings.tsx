import { useState, type FormEvent } from "react";
import { useAction, useMutation, useQuery } from "convex/react";
import { api } from "../api";
import { ErrorNote, fmtTime, Link, Loading, Section, useRunner, useSafeQuery, useSession } from "../ui";

const TABS = [
  ["workspace", "Workspace"],
  ["team", "Team"],
  ["widget", "Widget installation"],
  ["security", "Identity verification"],
  ["automation", "Automation"],
  ["audit", "Audit log"],
] as const;

export default function Settings({ tab }: { tab: string }) {
  return (
    <div className="page settings">
      <h1>Settings</h1>
      <nav className="tabs wrap" aria-label="Settings sections">
        {TABS.map(([k, l]) => (
          <Link key={k} to={`/settings/${k}`} className={"tab" + (tab === k ? " active" : "")} aria-current={tab === k ? "page" : undefined}>
            {l}
          </Link>
        ))}
      </nav>
      <Section key={tab} label="Settings">
        {tab === "workspace" && <WorkspaceTab />}
        {tab === "team" && <TeamTab />}
        {tab === "widget" && <WidgetTab />}
        {tab === "security" && <SecurityTab />}
        {tab === "automation" && <AutomationTab />}
        {tab === "audit" && <AuditTab />}
        {!TABS.some(([k]) => k === tab) && <p className="empty">Unknown settings section.</p>}
      </Section>
    </div>
  );
}

function WorkspaceTab() {
  const s = useSession();
  const ws = useQuery(api.workspaces.get, { id: s.workspaceId });
  const updateOrigins = useMutation(api.workspaces.updateAllowedOrigins);
  const create = useMutation(api.workspaces.create);
  const { error, setError, busy, run } = useRunner();
  const [origins, setOrigins] = useState<string | null>(null);
  const [newName, setNewName] = useState("");
  if (ws === undefined) return <Loading />;
  const current = (ws?.allowedOrigins ?? []).join("\n");
  return (
    <div className="stack">
      <div className="card">
        <h2>Workspace</h2>
        <dl className="facts">
          <dt>Name</dt>
          <dd data-testid="workspace-name">{ws?.name}</dd>
          <dt>Workspace ID</dt>
          <dd>
            <code>{s.workspaceId}</code>
          </dd>
          <dt>Created</dt>
          <dd>{fmtTime(ws?.createdAt ?? ws?._creationTime)}</dd>
          <dt>Your role</dt>
          <dd>{s.role}</dd>
        </dl>
      </div>
      <WorkspaceNameCard current={ws?.name ?? s.workspaceName} />
      <form
        className="card"
        aria-label="Allowed origins"
        onSubmit={(e) => {
          e.preventDefault();
          run(() => updateOrigins({ workspaceId: s.workspaceId, allowedOrigins: (origins ?? current).split(/\s+/).filter(Boolean) }));
        }}
      >
        <h2>Allowed widget origins</h2>
        <p className="muted">Sites allowed to load the messenger, one per line (e.g. https://example.com). Empty allows any site.</p>
        <textarea aria-label="Allowed origins" rows={3} value={origins ?? current} disabled={!s.can("settings.security")} onChange={(e) => setOrigins(e.target.value)} />
        {s.can("settings.security") && (
          <button type="submit" disabled={busy}>
            Save origins
          </button>
        )}
      </form>
      <form
        className="card row"
        aria-label="Create workspace"
        onSubmit={async (e) => {
          e.preventDefault();
          const id = await run(() => create({ name: newName.trim() }));
          if (typeof id === "string") {
            setNewName("");
            await s.switchWorkspace(id);
          }
        }}
      >
        <label className="grow">
          New workspace name
          <input required value={newName} onChange={(e) => setNewName(e.target.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Create workspace
        </button>
      </form>
      <ErrorNote error={error} onDismiss={() => setError(null)} />
    </div>
  );
}

/** Renames the workspace (workspaces:updateName); read-only for roles without settings.workspace. */
function WorkspaceNameCard({ current }: { current: string }) {
  const s = useSession();
  const updateName = useMutation(api.workspaces.updateName);
  const { error, setError, busy, run } = useRunner();
  const [draft, setDraft] = useState<string | null>(null);
  const [saved, setSaved] = useState("");
  if (!s.can("settings.workspace")) {
    return (
      <div className="card">
        <h2>Workspace name</h2>
        <p data-testid="workspace-name-readonly">{current}</p>
        <p className="muted">Only owners and admins can rename the workspace.</p>
      </div>
    );
  }
  const value = draft ?? current;
  return (
    <form
      className="card"
      aria-label="Rename workspace"
      onSubmit={async (e) => {
        e.preventDefault();
        setSaved("");
        const r: any = await run(() => updateName({ workspaceId: s.workspaceId, name: value }));
        if (r?.success) {
          setDraft(null);
          setSaved(`Saved. The workspace is now called “${r.name}”.`);
        }
      }}
    >
      <h2>Workspace name</h2>
      <div className="row">
        <label className="grow">
          Workspace name
          <input
            value={value}
            onChange={(e) => {
              setDraft(e.target.value);
              setSaved("");
            }}
          />
        </label>
        <button type="submit" disabled={busy || value === current}>
          Save name
        </button>
      </div>
      {saved && (
        <p className="notice" role="status">
          {saved}
        </p>
      )}
      <ErrorNote error={error} onDismiss={() => setError(null)} />
    </form>
  );
}

function TeamTab() {
  const s = useSession();
  const members = useQuery(api.members.list, { workspaceId: s.workspaceId });
  const pending = useSafeQuery(api.members.pending, { workspaceId: s.workspaceId });
  const invite = useAction(api.members.invite);
  const updateRole = useMutation(api.members.updateRole);
  const remove = useMutation(api.members.remove);
  const transfer = useMutation(api.members.transfer);
  const cancel = useMutation(api.members.cancel);
  const { error, setError, busy, run } = useRunner();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("agent");
  const [notice, setNotice] = useState("");

  async function send(e: FormEvent) {
    e.preventDefault();
    setNotice("");
    const r: any = await run(() => invite({ workspaceId: s.workspaceId, email: email.trim(), role, baseUrl: window.location.origin }));
    if (r !== undefined) {
      setNotice(r?.status === "added" ? `${email} already had an account and was added.` : `Invitation sent to ${email}. They can create their account at ${window.location.origin}/invite/accept?email=${encodeURIComponent(email.trim())}`);
      setEmail("");
    }
  }

  return (
    <div className="stack">
      {s.can("users.invite") && (
        <form className="card row" onSubmit={send} aria-label="Invite teammate">
          <label className="grow">
            Email
            <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setRole(e.target.value)}>
              <option value="admin">Admin</option>
              <option value="agent">Agent</option>
              <option value="viewer">Viewer</option>
            </select>
          </label>
          <button type="submit" disabled={busy}>
            Invite
          </button>
        </form>
      )}
      {notice && <p className="notice" role="status">{notice}</p>}
      <ErrorNote error={error} onDismiss={() => setError(null)} />
      {members === undefined ? (
        <Loading />
      ) : (
        <table className="table" aria-label="Team members">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {members.map((m: any) => (
              <tr key={m._id}>
                <td>{m.name || "—"}{m.userId === s.userId ? " (you)" : ""}</td>
                <td>{m.email}</td>
                <td>
                  {m.role !== "owner" && s.can("users.manage") && m.userId !== s.userId ? (
                    <select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => run(() => updateRole({ membershipId: m._id, role: e.target.value }))}>
                      <option value="admin">Admin</option>
                      <option value="agent">Agent</option>
                      <option value="viewer">Viewer</option>
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                <td className="actions">
                  {s.role === "owner" && m.userId !== s.userId && (
                    <button className="small secondary" onClick={() => confirm(`Make ${m.email} the owner? You will become an admin.`) && run(() => transfer({ workspaceId: s.workspaceId, newOwnerId: m.userId }))}>
                      Transfer ownership
                    </button>
                  )}
                  {s.can("users.remove") && m.role !== "owner" && m.userId !== s.userId && (
                    <button className="small danger" onClick={() => confirm(`Remove ${m.email} from the workspace?`) && run(() => remove({ membershipId: m._id }))}>
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {Array.isArray(pending) && pending.length > 0 && (
        <div className="card">
          <h2>Pending invitations</h2>
          <ul className="plain">
            {pending.map((inv: any) => (
              <li key={inv._id}>
                {inv.email} · {inv.role}{" "}
                {s.can("users.manage") && (
                  <button className="small link" onClick={() => run(() => cancel({ invitationId: inv._id }))}>
                    Cancel
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function WidgetTab() {
  const s = useSession();
  const origin = window.location.origin;
  const snippet = `<script src="${origin}/widget.js" data-opencom-convex-url="${origin}" data-opencom-workspace-id="${s.workspaceId}"></script>`;
  const [copied, setCopied] = useState(false);
  return (
    <div className="card">
      <h2>Install the messenger</h2>
      <p>Paste this before the closing <code>&lt;/body&gt;</code> tag on every page where visitors should be able to chat with you.</p>
      <pre className="code" data-testid="widget-snippet" aria-label="Widget installation snippet">
        {snippet}
      </pre>
      <button
        onClick={() =>
          navigator.clipboard?.writeText(snippet).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {copied ? "Copied" : "Copy snippet"}
      </button>
    </div>
  );
}

function SecurityTab() {
  const s = useSession();
  const settings = useQuery(api.identity.getSettings, { workspaceId: s.workspaceId });
  const admin = s.can("settings.security");
  const secret = useSafeQuery(api.identity.getSecret, admin && settings?.enabled ? { workspaceId: s.workspaceId } : "skip");
  const enable = useMutation(api.identity.enable);
  const disable = useMutation(api.identity.disable);
  const rotate = useMutation(api.identity.rotate);
  const updateMode = useMutation(api.identity.updateMode);
  const { error, setError, busy, run } = useRunner();
  const [shown, setShown] = useState<string | null>(null);
  const [reveal, setReveal] = useState(false);
  if (settings === undefined) return <Loading />;
  const value: string | null = shown ?? (secret && !(secret instanceof Error) ? secret.secret ?? null : null);
  return (
    <div className="card">
      <h2>Identity verification</h2>
      <p className="muted">
        Your server signs each signed-in user's id with HMAC-SHA256 using this secret and passes it to the widget as <code>userHash</code>, so nobody can impersonate your users.
      </p>
      <p>
        Status: <b data-testid="identity-status">{settings?.enabled ? `Enabled (${settings.mode ?? "optional"})` : "Disabled"}</b>
      </p>
      {!admin && <p className="muted">Only owners and admins can change this or see the secret.</p>}
      {admin && (
        <div className="row wrap">
          {!settings?.enabled ? (
            <button disabled={busy} onClick={() => run(async () => { const r: any = await enable({ workspaceId: s.workspaceId }); if (r?.secret) setShown(r.secret); })}>
              Enable
            </button>
          ) : (
            <>
              <label>
                Mode
                <select value={settings.mode ?? "optional"} onChange={(e) => run(() => updateMode({ workspaceId: s.workspaceId, mode: e.target.value }))}>
                  <option value="optional">Optional</option>
                  <option value="required">Required</option>
                </select>
              </label>
              <button className="secondary" disabled={busy} onClick={() => confirm("Rotate the secret? Your server must use the new one immediately.") && run(async () => { const r: any = await rotate({ workspaceId: s.workspaceId }); if (r?.secret) setShown(r.secret); })}>
                Rotate secret
              </button>
              <button className="danger" disabled={busy} onClick={() => confirm("Disable identity verification?") && run(() => disable({ workspaceId: s.workspaceId, confirmDisable: true }))}>
                Disable
              </button>
            </>
          )}
        </div>
      )}
      {admin && settings?.enabled && value && (
        <div className="secret">
          <span>Secret:</span> <code data-testid="identity-secret">{reveal ? value : "•".repeat(24)}</code>{" "}
          <button className="small secondary" onClick={() => setReveal(!reveal)}>
            {reveal ? "Hide" : "Show"}
          </button>
        </div>
      )}
      <ErrorNote error={error} onDismiss={() => setError(null)} />
    </div>
  );
}

const TOGGLES: [string, string][] = [
  ["suggestArticlesEnabled", "Suggest help articles while visitors type"],
  ["showReplyTimeEnabled", "Show expected reply time in the messenger"],
  ["collectEmailEnabled", "Ask visitors for their email address"],
  ["askForRatingEnabled", "Ask for a rating (CSAT) when a conversation is closed"],
];

function AutomationTab() {
  const s = useSession();
  const settings = useQuery(api.automation.getOrCreate, { workspaceId: s.workspaceId });
  const upsert = useMutation(api.automation.upsert);
  const { error, setError, run } = useRunner();
  if (settings === undefined) return <Loading />;
  const can = s.can("settings.workspace");
  return (
    <div className="card">
      <h2>Automation</h2>
      <ul className="plain toggles">
        {TOGGLES.map(([k, l]) => (
          <li key={k}>
            <label className="inline">
              <input type="checkbox" role="switch" disabled={!can} checked={!!settings?.[k]} onChange={(e) => run(() => upsert({ workspaceId: s.workspaceId, [k]: e.target.checked }))} /> {l}
            </label>
          </li>
        ))}
      </ul>
      {!can && <p className="muted">Only owners and admins can change automation settings.</p>}
      <ErrorNote error={error} onDismiss={() => setError(null)} />
    </div>
  );
}

function AuditTab() {
  const s = useSession();
  const [action, setAction] = useState("");
  const actions = useSafeQuery(api.audit.getActions, s.can("audit.read") ? { workspaceId: s.workspaceId } : "skip");
  const logs = useQuery(api.audit.list, s.can("audit.read") ? { workspaceId: s.workspaceId, limit: 200, ...(action ? { action } : {}) } : "skip");
  if (!s.can("audit.read")) return <p className="empty">Your role cannot read the audit log.</p>;
  const rows: any[] = Array.isArray(logs) ? logs : logs?.page ?? [];
  return (
    <div className="stack">
      <label className="inline">
        Action{" "}
        <select value={action} onChange={(e) => setAction(e.target.value)} aria-label="Filter by action">
          <option value="">All actions</option>
          {(Array.isArray(actions) ? actions : []).map((a: any) => (
            <option key={String(a)} value={String(a)}>
              {String(a)}
            </option>
          ))}
        </select>
      </label>
      {logs === undefined ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p className="empty">No audit entries.</p>
      ) : (
        <table className="table" aria-label="Audit log">
          <thead>
            <tr>
              <th>Time</th>
              <th>Action</th>
              <th>Actor</th>
              <th>Resource</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r._id}>
                <td>{fmtTime(r.timestamp)}</td>
                <td>
                  <code>{r.action}</code>
                </td>
                <td>{r.actorName ?? r.actorEmail ?? r.actor?.email ?? r.actorType}</td>
                <td>
                  {r.resourceType}
                  {r.resourceId ? ` ${String(r.resourceId).slice(-6)}` : ""}
                </td>
                <td className="clip">{r.metadata ? JSON.stringify(r.metadata) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
