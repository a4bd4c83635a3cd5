import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { useConvexAuth, useMutation, useQuery, type ConvexReactClient } from "convex/react";
import { useAuthActions } from "@convex-dev/auth/react";
import { api } from "./api";
import { ConnectionBadge, ErrorNote, Link, Loading, navigate, roleCan, SessionContext, usePath, type Role, type Session } from "./ui";

const AuthScreen = lazy(() => import("./screens/Auth"));
const Inbox = lazy(() => import("./screens/Inbox"));
const Tickets = lazy(() => import("./screens/Tickets"));
const Snippets = lazy(() => import("./screens/Snippets"));
const Tags = lazy(() => import("./screens/Tags"));
const Settings = lazy(() => import("./screens/Settings"));

/** Interprets auth:setupStatus, whatever exact shape the server returns. */
function needsSetup(s: unknown): boolean {
  if (typeof s === "boolean") return s;
  if (s && typeof s === "object") {
    const o = s as Record<string, unknown>;
    if (typeof o.needsSetup === "boolean") return o.needsSetup;
    if (typeof o.setupRequired === "boolean") return o.setupRequired;
    if (typeof o.hasUsers === "boolean") return !o.hasUsers;
    if (typeof o.initialized === "boolean") return !o.initialized;
  }
  return false;
}

export function App({ client }: { client: ConvexReactClient }) {
  const { isLoading, isAuthenticated } = useConvexAuth();
  const setup = useQuery(api.auth.setupStatus, isAuthenticated ? "skip" : {});
  if (isLoading) return <Loading label="Starting…" />;
  if (!isAuthenticated) {
    return (
      <Suspense fallback={<Loading />}>
        <AuthScreen firstRun={setup === undefined ? undefined : needsSetup(setup)} client={client} />
      </Suspense>
    );
  }
  return <SignedIn client={client} />;
}

function SignedIn({ client }: { client: ConvexReactClient }) {
  const me = useQuery(api.auth.currentUser, {});
  const { signOut } = useAuthActions();
  const switchWs = useMutation(api.auth.switchWorkspace);
  const [pickedWs, setPickedWs] = useState<string | null>(() => localStorage.getItem("opencom.workspace"));

  const session = useMemo<Session | null>(() => {
    if (!me || !me.user) return null;
    const workspaces = (me.workspaces ?? []).filter(Boolean).map((w: any) => ({ _id: w._id, name: w.name, role: w.role as Role }));
    const ws = workspaces.find((w: any) => w._id === pickedWs) ?? workspaces.find((w: any) => w._id === me.user.workspaceId) ?? workspaces[0];
    if (!ws) return null;
    const role = ws.role ?? me.user.role ?? "agent";
    return {
      userId: me.user._id,
      email: me.user.email,
      name: me.user.name,
      workspaceId: ws._id,
      workspaceName: ws.name,
      role,
      workspaces,
      can: (p: string) => roleCan(role, p),
      switchWorkspace: async (id: string) => {
        await switchWs({ workspaceId: id });
        localStorage.setItem("opencom.workspace", id);
        setPickedWs(id);
        navigate("/inbox");
      },
      signOut: async () => {
        localStorage.removeItem("opencom.workspace");
        await signOut();
        navigate("/", true);
      },
    };
  }, [me, pickedWs, signOut, switchWs]);

  if (me === undefined) return <Loading label="Loading your workspace…" />;
  if (!session) {
    return (
      <div className="center-page">
        <div className="card">
          <h1>No workspace</h1>
          <p>Your account is not a member of any workspace yet. Ask an administrator to invite you.</p>
          <button onClick={() => signOut()}>Sign out</button>
        </div>
      </div>
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell client={client} />
    </SessionContext.Provider>
  );
}

const NAV = [
  { to: "/inbox", label: "Inbox", icon: "✉" },
  { to: "/tickets", label: "Tickets", icon: "▤" },
  { to: "/snippets", label: "Snippets", icon: "✂" },
  { to: "/tags", label: "Tags", icon: "#" },
  { to: "/settings", label: "Settings", icon: "⚙" },
];

function Shell({ client }: { client: ConvexReactClient }) {
  const path = usePath();
  useEffect(() => {
    if (path === "/" || path === "/index.html" || path.startsWith("/invite")) navigate("/inbox", true);
  }, [path]);
  const section = "/" + (path.split("/")[1] || "inbox");
  return (
    <SessionContext.Consumer>
      {(s) => (
        <div className="shell">
          <nav className="sidenav" aria-label="Main">
            <div className="brand" aria-label="Opencom">
              <span className="logo">O</span>
              <span className="brand-name">Opencom</span>
            </div>
            {NAV.map((n) => (
              <Link key={n.to} to={n.to} className={"navlink" + (section === n.to ? " active" : "")} aria-current={section === n.to ? "page" : undefined} title={n.label}>
                <span className="icon" aria-hidden="true">
                  {n.icon}
                </span>
                <span className="navlabel">{n.label}</span>
              </Link>
            ))}
          </nav>
          <div className="main">
            <header className="topbar">
              <label className="ws-switch">
                <span className="sr-only">Workspace</span>
                <select aria-label="Workspace" value={s!.workspaceId} onChange={(e) => s!.switchWorkspace(e.target.value)}>
                  {s!.workspaces.map((w) => (
                    <option key={w._id} value={w._id}>
                      {w.name}
                    </option>
                  ))}
                </select>
              </label>
              <span className="role-pill" data-testid="role">
                {s!.role}
              </span>
              <span className="spacer" />
              <ConnectionBadge client={client} />
              <span className="me" title={s!.email}>
                {s!.name || s!.email}
              </span>
              <button className="secondary small" onClick={() => s!.signOut()}>
                Sign out
              </button>
            </header>
            <PendingInvitations />
            <main className="content">
              <Suspense fallback={<Loading />}>
                <Route path={path} />
              </Suspense>
            </main>
          </div>
        </div>
      )}
    </SessionContext.Consumer>
  );
}

function Route({ path }: { path: string }) {
  const parts = path.split("/").filter(Boolean);
  switch (parts[0] ?? "inbox") {
    case "inbox":
      return <Inbox selectedId={parts[1]} />;
    case "tickets":
      return <Tickets selectedId={parts[1]} />;
    case "snippets":
      return <Snippets />;
    case "tags":
      return <Tags />;
    case "settings":
      return <Settings tab={parts[1] ?? "workspace"} />;
    default:
      return (
        <div className="empty">
          <h1>Not found</h1>
          <p>
            There is no page at <code>{path}</code>. <Link to="/inbox">Go to the inbox</Link>
          </p>
        </div>
      );
  }
}

function PendingInvitations() {
  const invitations = useQuery(api.members.myInvitations, {});
  const accept = useMutation(api.members.accept);
  const [error, setError] = useState<unknown>(null);
  if (!Array.isArray(invitations) || invitations.length === 0) return null;
  return (
    <div className="banner" role="region" aria-label="Invitations">
      {invitations.map((inv: any) => (
        <span key={inv._id}>
          You are invited to <b>{inv.workspaceName ?? "a workspace"}</b> as {inv.role}.{" "}
          <button className="small" onClick={() => accept({ invitationId: inv._id }).catch(setError)}>
            Accept
          </button>
        </span>
      ))}
      <ErrorNote error={error} onDismiss={() => setError(null)} />
    </div>
  );
}
