import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "convex/react";
import { api } from "../api";
import { Attachments } from "../attachments";
import { ErrorNote, fmtTime, Link, Loading, navigate, timeAgo, useRunner, useSession } from "../ui";

const STATUSES = ["submitted", "in_progress", "waiting_on_customer", "resolved"];
const PRIORITIES = ["low", "normal", "high", "urgent"];
const label = (s: string) => s.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

export default function Tickets({ selectedId }: { selectedId?: string }) {
  const s = useSession();
  const [status, setStatus] = useState("");
  const tickets = useQuery(api.tickets.list, { workspaceId: s.workspaceId, ...(status ? { status } : {}) });
  return (
    <div className={"split" + (selectedId ? " has-selection" : "")}>
      <section className="conv-list-pane" aria-label="Tickets">
        <div className="list-head">
          <h1>Tickets</h1>
          <select aria-label="Ticket status filter" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">All statuses</option>
            {STATUSES.map((st) => (
              <option key={st} value={st}>
                {label(st)}
              </option>
            ))}
          </select>
        </div>
        {tickets === undefined ? (
          <Loading />
        ) : tickets.length === 0 ? (
          <p className="empty small">No tickets. Convert a conversation to a ticket from the inbox.</p>
        ) : (
          <ul className="conv-list">
            {tickets.map((t: any) => (
              <li key={t._id} className={"conv-row" + (t._id === selectedId ? " selected" : "")}>
                <Link to={`/tickets/${t._id}`} className="conv-link" aria-current={t._id === selectedId ? "page" : undefined}>
                  <span className="conv-main">
                    <span className="conv-top">
                      <span className="conv-name">{t.subject}</span>
                      <span className="conv-time">{timeAgo(t.updatedAt ?? t.createdAt)}</span>
                    </span>
                    <span className="conv-preview">
                      <span className={"status-pill " + t.status}>{label(t.status)}</span> <span className={"prio " + t.priority}>{t.priority}</span>{" "}
                      {t.visitor?.name || t.visitor?.email || ""}
                    </span>
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
      {selectedId ? (
        <TicketDetail key={selectedId} id={selectedId} />
      ) : (
        <section className="conv-pane empty-pane">
          <div className="empty">
            <h2>Select a ticket</h2>
          </div>
        </section>
      )}
    </div>
  );
}

function TicketDetail({ id }: { id: string }) {
  const s = useSession();
  const t = useQuery(api.tickets.get, { id });
  const members = useQuery(api.members.list, { workspaceId: s.workspaceId });
  const update = useMutation(api.tickets.update);
  const addComment = useMutation(api.tickets.addComment);
  const { error, setError, busy, run } = useRunner();
  const [text, setText] = useState("");
  const [internal, setInternal] = useState(false);
  const canEdit = s.can("conversations.reply");

  if (t === undefined) return <section className="conv-pane"><Loading /></section>;
  if (t === null)
    return (
      <section className="conv-pane">
        <div className="empty">
          <h2>Ticket not found</h2>
        </div>
      </section>
    );

  async function comment(e: FormEvent) {
    e.preventDefault();
    const ok = await run(() => addComment({ ticketId: id, content: text.trim(), isInternal: internal }));
    if (ok !== undefined) setText("");
  }

  return (
    <section className="conv-pane" aria-label={`Ticket ${t.subject}`}>
      <header className="conv-head">
        <button className="icon-btn back" aria-label="Back to tickets" onClick={() => navigate("/tickets")}>
          ←
        </button>
        <div className="conv-title">
          <h2>{t.subject}</h2>
          <span className="muted small-text">Opened {fmtTime(t.createdAt)}</span>
        </div>
      </header>
      <ErrorNote error={error} onDismiss={() => setError(null)} />
      <div className="ticket-fields">
        <label>
          Status
          <select disabled={!canEdit} value={t.status} onChange={(e) => run(() => update({ id, status: e.target.value }))}>
            {STATUSES.map((st) => (
              <option key={st} value={st}>
                {label(st)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Priority
          <select disabled={!canEdit} value={t.priority} onChange={(e) => run(() => update({ id, priority: e.target.value }))}>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {label(p)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Assignee
          <select disabled={!canEdit} value={t.assigneeId ?? ""} onChange={(e) => e.target.value && run(() => update({ id, assigneeId: e.target.value }))}>
            <option value="" disabled>
              Unassigned
            </option>
            {(Array.isArray(members) ? members : []).map((m: any) => (
              <option key={m.userId} value={m.userId}>
                {m.name || m.email}
              </option>
            ))}
          </select>
        </label>
        {t.conversationId && (
          <span>
            <Link to={`/inbox/${t.conversationId}`}>Open conversation</Link>
          </span>
        )}
        {t.visitor && <span className="muted">Customer: {t.visitor.name || t.visitor.email || t.visitor.readableId}</span>}
      </div>
      {t.description && <p className="ticket-desc">{t.description}</p>}
      <Attachments items={t.attachments} />
      <div className="timeline" role="log" aria-label="Comments">
        {(t.comments ?? []).length === 0 && <p className="muted">No comments yet.</p>}
        {(t.comments ?? []).map((c: any) => (
          <div key={c._id} className={"msg " + (c.isInternal ? "note" : c.authorType === "visitor" ? "in" : c.authorType === "system" ? "bot" : "out")}>
            <div className="msg-meta">
              {c.isInternal ? "Internal · " : ""}
              {c.authorName ?? label(c.authorType)} · {timeAgo(c.createdAt)}
            </div>
            <div className="msg-body">{c.content}</div>
            <Attachments items={c.attachments} />
          </div>
        ))}
      </div>
      {canEdit && (
        <form className={"composer" + (internal ? " internal" : "")} onSubmit={comment} aria-label="Add comment">
          <textarea aria-label="Comment" required rows={2} value={text} onChange={(e) => setText(e.target.value)} placeholder="Add a comment…" />
          <div className="composer-foot">
            <label className="inline">
              <input type="checkbox" checked={internal} onChange={(e) => setInternal(e.target.checked)} /> Internal
            </label>
            <span className="spacer" />
            <button type="submit" disabled={busy || !text.trim()}>
              Comment
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
