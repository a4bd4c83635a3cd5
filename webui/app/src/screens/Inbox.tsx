import { useEffect, useMemo, useRef, useState, type KeyboardEvent as RKeyboardEvent } from "react";
import { useMutation, useQueries, useQuery } from "convex/react";
import { api } from "../api";
import { ACCEPT, Attachments, StagedChips, useUploads } from "../attachments";
import { ErrorNote, fmtTime, Link, Loading, navigate, Section, timeAgo, useSafeQuery, useRunner, useSession } from "../ui";

type Status = "open" | "snoozed" | "closed";
type Who = "all" | "mine" | "unassigned";

function visitorName(v: any, fallbackId?: string): string {
  if (!v) return fallbackId ? `Visitor ${fallbackId.slice(-4)}` : "Unknown visitor";
  return v.name || v.email || v.readableId || `Visitor ${String(v._id).slice(-4)}`;
}

function isTypingTarget(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

export default function Inbox({ selectedId }: { selectedId?: string }) {
  const s = useSession();
  const [status, setStatus] = useState<Status>("open");
  const [who, setWho] = useState<Who>("all");
  const [tagId, setTagId] = useState<string>("");
  const [search, setSearch] = useState("");
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const tags = useQuery(api.tags.list, { workspaceId: s.workspaceId });
  const shownRef = useRef<any[]>([]);
  const searching = search.trim().length >= 2;

  // Keyboard shortcuts: j/k move through the list, r focuses the reply box, e closes.
  const closeRef = useRef<() => void>(() => {});
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (e.metaKey || e.ctrlKey || e.altKey || isTypingTarget(e.target)) return;
      const shown = shownRef.current;
      const i = shown.findIndex((c) => c._id === selectedId);
      if (e.key === "j" || e.key === "k") {
        const next = shown[e.key === "j" ? Math.min(i + 1, shown.length - 1) : Math.max(i - 1, 0)];
        if (next) navigate(`/inbox/${next._id}`);
        e.preventDefault();
      } else if (e.key === "r") {
        const box = document.getElementById("compose-box") as HTMLTextAreaElement | null;
        if (box) {
          box.focus();
          e.preventDefault();
        }
      } else if (e.key === "e") {
        closeRef.current();
        e.preventDefault();
      } else if (e.key === "Escape" && selectedId) {
        navigate("/inbox");
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [selectedId]);

  return (
    <div className={"inbox" + (selectedId ? " has-selection" : "")}>
      <section className="conv-list-pane" aria-label="Conversations">
        <div className="list-head">
          <h1>Inbox</h1>
          <input type="search" aria-label="Search conversations" placeholder="Search…" value={search} onChange={(e) => setSearch(e.target.value)} />
          <div className="tabs" role="tablist" aria-label="Status">
            {(["open", "snoozed", "closed"] as Status[]).map((st) => (
              <button key={st} role="tab" aria-selected={status === st} className={"tab" + (status === st ? " active" : "")} onClick={() => { setStatus(st); setChecked(new Set()); }}>
                {st[0].toUpperCase() + st.slice(1)}
              </button>
            ))}
          </div>
          <div className="filters">
            <select aria-label="Assignee filter" value={who} onChange={(e) => setWho(e.target.value as Who)}>
              <option value="all">Everyone</option>
              <option value="mine">Assigned to me</option>
              <option value="unassigned">Unassigned</option>
            </select>
            <select aria-label="Tag filter" value={tagId} onChange={(e) => setTagId(e.target.value)}>
              <option value="">Any tag</option>
              {(Array.isArray(tags) ? tags : []).map((t: any) => (
                <option key={t._id} value={t._id}>
                  {t.name}
                </option>
              ))}
            </select>
          </div>
        </div>
        <BulkBar checked={checked} clear={() => setChecked(new Set())} status={status} />
        <Section label="Conversations">
          <ConversationList key={s.workspaceId + ":" + status} status={status} who={who} tagId={tagId} search={searching ? search.trim() : ""} selectedId={selectedId} checked={checked} setChecked={setChecked} shownRef={shownRef} />
        </Section>
      </section>
      {selectedId ? (
        <Section key={selectedId} label="Conversation">
          <Conversation id={selectedId} closeRef={closeRef} />
        </Section>
      ) : (
        <section className="conv-pane empty-pane" aria-label="Conversation">
          <div className="empty">
            <h2>Select a conversation</h2>
            <p className="muted">
              Shortcuts: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>r</kbd> reply, <kbd>e</kbd> close.
            </p>
          </div>
        </section>
      )}
    </div>
  );
}

const PAGE_SIZE = 100; // the most conversations:listForInbox returns at once

/**
 * The inbox pages loaded so far, each its own live subscription to
 * conversations:listForInbox. Page i+1's cursor is page i's current
 * nextCursor (its last conversation), so the loaded pages stay contiguous
 * while conversations move: when page i's boundary shifts, page i+1 is
 * re-subscribed from the new cursor and shows its previous rows until the
 * new result arrives. Merged in order, the first occurrence of an _id wins.
 * Remount (key) to go back to the first page.
 */
function useInboxPages(workspaceId: string, status: Status) {
  // Cursors of the pages after the first; "Load more" appends one.
  const [cursors, setCursors] = useState<string[]>([]);
  const pageCursors: (string | undefined)[] = [undefined, ...cursors];
  const queries = useMemo(() => {
    const q: Record<string, { query: typeof api.conversations.listForInbox; args: Record<string, unknown> }> = {};
    for (const cursor of pageCursors)
      q["page:" + (cursor ?? "")] = { query: api.conversations.listForInbox, args: { workspaceId, status, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) } };
    return q;
  }, [workspaceId, status, cursors.join(",")]); // eslint-disable-line react-hooks/exhaustive-deps
  const results = useQueries(queries as any) as Record<string, any>;
  const fresh = pageCursors.map((cursor) => results["page:" + (cursor ?? "")]);
  for (const r of fresh) if (r instanceof Error) throw r;

  // A page whose cursor just moved keeps showing its last result until the new one arrives.
  const lastRef = useRef<any[]>([]);
  lastRef.current = pageCursors.map((_, i) => fresh[i] ?? lastRef.current[i]);
  const pages = lastRef.current;

  // Follow the boundaries: page i+1 starts where page i ends now; a page
  // that no longer has anything after it drops the pages behind it.
  useEffect(() => {
    let next = cursors;
    for (let i = 0; i < next.length; i++) {
      const prev = fresh[i];
      if (prev === undefined) break;
      const nc: string | null = prev.nextCursor ?? null;
      if (nc === null) next = next.slice(0, i);
      else if (nc !== next[i]) next = [...next.slice(0, i), nc, ...next.slice(i + 1)];
    }
    if (next !== cursors) setCursors(next);
  });

  // Merged in order, deduplicated; recomputed only when a page's result changes.
  const mergedRef = useRef<{ pages: any[]; out: any[] | undefined }>({ pages: [], out: undefined });
  const m = mergedRef.current;
  if (m.pages.length !== pages.length || m.pages.some((p, i) => p !== pages[i])) {
    let out: any[] | undefined;
    if (pages[0] !== undefined) {
      const seen = new Set<string>();
      out = [];
      for (const p of pages)
        for (const c of p?.conversations ?? []) {
          if (seen.has(c._id)) continue;
          seen.add(c._id);
          out.push(c);
        }
    }
    mergedRef.current = { pages, out };
  }
  const conversations = mergedRef.current.out;
  const last = pages[pages.length - 1];
  const loadingMore = cursors.length > 0 && last === undefined;
  const hasMore = last?.nextCursor != null;
  const loadMore = () => {
    if (hasMore && !loadingMore) setCursors([...cursors, last.nextCursor]);
  };
  return { conversations, hasMore, loadingMore, loadMore };
}

function ConversationList(props: {
  status: Status;
  who: Who;
  tagId: string;
  search: string;
  selectedId?: string;
  checked: Set<string>;
  setChecked: (s: Set<string>) => void;
  shownRef: React.MutableRefObject<any[]>;
}) {
  const { status, who, tagId, search, selectedId, checked, setChecked } = props;
  const s = useSession();
  const inbox = useInboxPages(s.workspaceId, status);
  const found = useQuery(api.conversations.search, search ? { workspaceId: s.workspaceId, query: search } : "skip");
  const tagged = useQuery(api.tags.conversationsWithTag, tagId ? { workspaceId: s.workspaceId, tagId } : "skip");
  const conversations: any[] = useMemo(() => {
    let list: any[] = inbox.conversations ?? [];
    if (who === "mine") list = list.filter((c) => c.assignedAgentId === s.userId);
    if (who === "unassigned") list = list.filter((c) => !c.assignedAgentId);
    if (tagId) {
      const ids = new Set<string>((Array.isArray(tagged) ? tagged : []).map((x: any) => (typeof x === "string" ? x : x.conversationId ?? x._id)));
      list = list.filter((c) => ids.has(c._id) || (Array.isArray(c.tags) && c.tags.some((t: any) => (t?._id ?? t) === tagId)));
    }
    return list;
  }, [inbox.conversations, who, tagId, tagged, s.userId]);
  const shown: any[] = search ? normalizeSearch(found) : conversations;
  props.shownRef.current = shown;
  if ((inbox.conversations === undefined && !search) || (search && found === undefined)) return <Loading />;
  const more = !search && (inbox.hasMore || inbox.loadingMore) && (
    <button className="secondary small" disabled={inbox.loadingMore} onClick={inbox.loadMore}>
      {inbox.loadingMore ? "Loading…" : "Load more conversations"}
    </button>
  );
  if (shown.length === 0)
    return (
      <>
        <p className="empty small">{search ? "No conversations match your search." : more ? "No loaded conversations match these filters." : `No ${status} conversations.`}</p>
        {more && <div className="list-more">{more}</div>}
      </>
    );
  return (
    <ul className="conv-list" data-testid="conversation-list">
      {shown.map((c) => (
        <ConversationRow
          key={c._id}
          c={c}
          selected={c._id === selectedId}
          checked={checked.has(c._id)}
          onCheck={(on) => {
            const n = new Set(checked);
            if (on) n.add(c._id);
            else n.delete(c._id);
            setChecked(n);
          }}
          canBulk={s.can("conversations.close")}
        />
      ))}
      {more && <li className="list-more">{more}</li>}
    </ul>
  );
}

function normalizeSearch(found: any): any[] {
  if (!found) return [];
  const arr = Array.isArray(found) ? found : found.results ?? found.conversations ?? found.page ?? [];
  return arr.map((r: any) => (r.conversation ? { ...r.conversation, ...r, _id: r.conversation._id } : r));
}

function ConversationRow({ c, selected, checked, onCheck, canBulk }: { c: any; selected: boolean; checked: boolean; onCheck: (on: boolean) => void; canBulk: boolean }) {
  const s = useSession();
  const unread = c.unreadByAgent ?? 0;
  const preview = c.lastMessage?.content ?? c.lastMessagePreview ?? c.snippet ?? "";
  const name = visitorName(c.visitor, c.visitorId);
  // j/k can move to a row below the fold (or on a later page): keep it in view.
  const rowRef = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (selected) rowRef.current?.scrollIntoView({ block: "nearest" });
  }, [selected]);
  return (
    <li ref={rowRef} className={"conv-row" + (selected ? " selected" : "") + (unread ? " unread" : "")} data-conversation-id={c._id}>
      {canBulk && <input type="checkbox" aria-label={`Select conversation with ${name}`} checked={checked} onChange={(e) => onCheck(e.target.checked)} />}
      <Link to={`/inbox/${c._id}`} className="conv-link" aria-current={selected ? "page" : undefined}>
        <span className="avatar" aria-hidden="true">
          {name.slice(0, 1).toUpperCase()}
        </span>
        <span className="conv-main">
          <span className="conv-top">
            <span className="conv-name">{name}</span>
            <span className="conv-time">{timeAgo(c.lastMessageAt ?? c.createdAt)}</span>
          </span>
          <span className="conv-preview">
            {c.lastMessage?.isInternal ? "Note: " : c.lastMessage?.senderType === "agent" ? (c.lastMessage?.senderId === s.userId ? "You: " : "Agent: ") : ""}
            {preview}
          </span>
        </span>
        {unread > 0 && (
          <span className="badge" aria-label={`${unread} unread`} data-testid="unread-badge">
            {unread}
          </span>
        )}
      </Link>
    </li>
  );
}

function BulkBar({ checked, clear, status }: { checked: Set<string>; clear: () => void; status: Status }) {
  const s = useSession();
  const bulk = useMutation(api.conversations.bulkUpdateStatus);
  const bulkAssign = useMutation(api.conversations.bulkAssign);
  const { error, setError, busy, run } = useRunner();
  if (checked.size === 0) return error ? <ErrorNote error={error} onDismiss={() => setError(null)} /> : null;
  const ids = [...checked];
  const go = (f: () => Promise<unknown>) => run(async () => { await f(); clear(); });
  return (
    <div className="bulkbar" role="toolbar" aria-label="Bulk actions">
      <span>{ids.length} selected</span>
      {status !== "closed" && <button className="small" disabled={busy} onClick={() => go(() => bulk({ workspaceId: s.workspaceId, ids, status: "closed" }))}>Close</button>}
      {status !== "open" && <button className="small" disabled={busy} onClick={() => go(() => bulk({ workspaceId: s.workspaceId, ids, status: "open" }))}>Reopen</button>}
      <button className="small secondary" disabled={busy} onClick={() => go(() => bulkAssign({ workspaceId: s.workspaceId, ids, agentId: s.userId }))}>Assign to me</button>
      <button className="small link" onClick={clear}>Clear</button>
      <ErrorNote error={error} />
    </div>
  );
}

const SNOOZES: [string, number][] = [
  ["1 hour", 3600e3],
  ["4 hours", 4 * 3600e3],
  ["Tomorrow", 24 * 3600e3],
  ["Next week", 7 * 24 * 3600e3],
];

function Conversation({ id, closeRef }: { id: string; closeRef: React.MutableRefObject<() => void> }) {
  const s = useSession();
  const conv = useQuery(api.conversations.get, { id });
  const messages = useQuery(api.messages.list, { conversationId: id });
  const visitorRaw = useSafeQuery(api.visitors.get, conv?.visitorId ? { id: conv.visitorId } : "skip");
  const visitor = visitorRaw instanceof Error ? null : visitorRaw;
  const members = useQuery(api.members.list, { workspaceId: s.workspaceId });
  const updateStatus = useMutation(api.conversations.updateStatus);
  const assign = useMutation(api.conversations.assign);
  const markAsRead = useMutation(api.conversations.markAsRead);
  const convert = useMutation(api.tickets.convert);
  const { error, setError, busy, run } = useRunner();
  const [showSidebar, setShowSidebar] = useState(false);

  useEffect(() => {
    if (conv && (conv.unreadByAgent ?? 0) > 0) markAsRead({ id, readerType: "agent" }).catch(() => {});
  }, [conv?.unreadByAgent, id]); // eslint-disable-line react-hooks/exhaustive-deps

  const canClose = s.can("conversations.close");
  closeRef.current = () => {
    if (conv && canClose && conv.status !== "closed") run(() => updateStatus({ id, status: "closed" }));
  };

  const endRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    endRef.current?.scrollIntoView({ block: "end" });
  }, [messages?.length]);

  if (conv === undefined) return <section className="conv-pane"><Loading /></section>;
  if (conv === null)
    return (
      <section className="conv-pane">
        <div className="empty">
          <h2>Conversation not found</h2>
          <Link to="/inbox">Back to inbox</Link>
        </div>
      </section>
    );

  const memberName = (uid?: string) => {
    const m = (Array.isArray(members) ? members : []).find((x: any) => x.userId === uid);
    return m ? m.name || m.email : uid ? "Unknown agent" : "Unassigned";
  };
  const name = visitorName(visitor ?? null, conv.visitorId);

  return (
    <>
      <section className="conv-pane" aria-label={`Conversation with ${name}`}>
        <header className="conv-head">
          <button className="icon-btn back" aria-label="Back to conversation list" onClick={() => navigate("/inbox")}>
            ←
          </button>
          <div className="conv-title">
            <h2>{name}</h2>
            <span className={"status-pill " + conv.status} data-testid="conversation-status">
              {conv.status}
              {conv.status === "snoozed" && conv.snoozedUntil ? ` until ${fmtTime(conv.snoozedUntil)}` : ""}
            </span>
          </div>
          <div className="conv-actions">
            {s.can("conversations.assign") ? (
              <select aria-label="Assignee" value={conv.assignedAgentId ?? ""} onChange={(e) => e.target.value && run(() => assign({ id, agentId: e.target.value }))}>
                <option value="" disabled>
                  Unassigned
                </option>
                {(Array.isArray(members) ? members : []).map((m: any) => (
                  <option key={m.userId} value={m.userId}>
                    {m.userId === s.userId ? `Me (${m.name || m.email})` : m.name || m.email}
                  </option>
                ))}
              </select>
            ) : (
              <span className="muted">{memberName(conv.assignedAgentId)}</span>
            )}
            {canClose && conv.status !== "snoozed" && (
              <select aria-label="Snooze" value="" onChange={(e) => e.target.value && run(() => updateStatus({ id, status: "snoozed", snoozedUntil: Date.now() + Number(e.target.value) }))}>
                <option value="">Snooze…</option>
                {SNOOZES.map(([l, ms]) => (
                  <option key={l} value={ms}>
                    {l}
                  </option>
                ))}
              </select>
            )}
            {canClose &&
              (conv.status === "closed" || conv.status === "snoozed" ? (
                <button disabled={busy} onClick={() => run(() => updateStatus({ id, status: "open" }))}>
                  Reopen
                </button>
              ) : (
                <button disabled={busy} onClick={() => run(() => updateStatus({ id, status: "closed" }))} title="Close (e)">
                  Close
                </button>
              ))}
            {s.can("conversations.reply") && (
              <button
                className="secondary"
                disabled={busy}
                onClick={() =>
                  run(async () => {
                    const ticketId = await convert({ conversationId: id });
                    if (typeof ticketId === "string") navigate(`/tickets/${ticketId}`);
                  })
                }
              >
                Convert to ticket
              </button>
            )}
            <button className="icon-btn info" aria-label="Visitor details" aria-expanded={showSidebar} onClick={() => setShowSidebar(!showSidebar)}>
              ⓘ
            </button>
          </div>
        </header>
        <ErrorNote error={error} onDismiss={() => setError(null)} />
        <Section label="Tags">
          <ConversationTags id={id} />
        </Section>
        <div className="timeline" role="log" aria-label="Messages" aria-live="polite" data-testid="timeline">
          {messages === undefined ? (
            <Loading />
          ) : (
            (Array.isArray(messages) ? messages : messages.page ?? []).map((m: any) => <Message key={m._id} m={m} visitorLabel={name} />)
          )}
          <div ref={endRef} />
        </div>
        <Section quiet>
          <TypingIndicator id={id} name={name} />
        </Section>
        {s.can("conversations.reply") ? <Composer id={id} /> : <p className="readonly-note">You have read-only access to this conversation.</p>}
      </section>
      <VisitorSidebar visitor={visitor} conv={conv} open={showSidebar} onClose={() => setShowSidebar(false)} />
    </>
  );
}

function Message({ m, visitorLabel }: { m: any; visitorLabel: string }) {
  const mine = m.senderType === "agent" || m.senderType === "user";
  const cls = m.isInternal ? "note" : mine ? "out" : m.senderType === "bot" ? "bot" : "in";
  const who = m.isInternal ? `Internal note · ${m.senderName ?? "Agent"}` : mine ? m.senderName ?? "Agent" : m.senderType === "bot" ? "Bot" : visitorLabel;
  return (
    <div className={"msg " + cls} data-sender={m.senderType}>
      <div className="msg-meta">
        {who} · <time dateTime={new Date(m.createdAt ?? m._creationTime).toISOString()}>{timeAgo(m.createdAt ?? m._creationTime)}</time>
      </div>
      {m.content ? <div className="msg-body">{m.content}</div> : null}
      <Attachments items={m.attachments} />
    </div>
  );
}

function ConversationTags({ id }: { id: string }) {
  const s = useSession();
  const applied = useQuery(api.tags.forConversation, { conversationId: id });
  const all = useQuery(api.tags.list, { workspaceId: s.workspaceId });
  const add = useMutation(api.tags.add);
  const remove = useMutation(api.tags.removeFrom);
  const { error, setError, run } = useRunner();
  const appliedList: any[] = Array.isArray(applied) ? applied : [];
  const ids = new Set(appliedList.map((t) => t._id));
  const canEdit = s.can("conversations.assign");
  if (!canEdit && appliedList.length === 0) return null;
  return (
    <div className="tagbar" aria-label="Conversation tags">
      {appliedList.map((t) => (
        <span key={t._id} className="tag" style={{ borderColor: t.color || undefined }}>
          {t.name}
          {canEdit && (
            <button className="link" aria-label={`Remove tag ${t.name}`} onClick={() => run(() => remove({ conversationId: id, tagId: t._id }))}>
              ×
            </button>
          )}
        </span>
      ))}
      {canEdit && (
        <select aria-label="Add tag" value="" onChange={(e) => e.target.value && run(() => add({ conversationId: id, tagId: e.target.value }))}>
          <option value="">+ Tag</option>
          {(Array.isArray(all) ? all : [])
            .filter((t: any) => !ids.has(t._id))
            .map((t: any) => (
              <option key={t._id} value={t._id}>
                {t.name}
              </option>
            ))}
        </select>
      )}
      <ErrorNote error={error} onDismiss={() => setError(null)} />
    </div>
  );
}

function TypingIndicator({ id, name }: { id: string; name: string }) {
  const typing = useSafeQuery(api.typing.get, { conversationId: id });
  const list: any[] = Array.isArray(typing) ? typing : [];
  const visitorTyping = list.some((t) => t.userType === "visitor" || t.senderType === "visitor" || t.type === "visitor" || t.visitorId);
  if (!visitorTyping) return <div className="typing" aria-hidden="true" />;
  return (
    <div className="typing" role="status" data-testid="visitor-typing">
      {name} is typing…
    </div>
  );
}

function Composer({ id }: { id: string }) {
  const s = useSession();
  const send = useMutation(api.messages.send);
  const setTyping = useMutation(api.typing.set);
  const snippets = useQuery(api.snippets.list, { workspaceId: s.workspaceId });
  const [text, setText] = useState(() => sessionStorage.getItem("draft:" + id) ?? "");
  const [internal, setInternal] = useState(false);
  const [pick, setPick] = useState(0);
  const { error, setError, busy, run } = useRunner();
  const lastTyping = useRef(0);
  const boxRef = useRef<HTMLTextAreaElement>(null);
  const uploads = useUploads(s.workspaceId);

  async function attach(files: FileList | null) {
    if (!files || files.length === 0) return;
    const err = await uploads.add(Array.from(files));
    if (err) setError(new Error(err));
  }

  // The "/word" immediately before the caret opens the snippet picker.
  const caret = boxRef.current?.selectionStart ?? text.length;
  const before = text.slice(0, caret);
  const slash = before.match(/(?:^|\s)\/([\w-]*)$/);
  const query = slash ? slash[1].toLowerCase() : null;
  const matches: any[] =
    query === null
      ? []
      : (Array.isArray(snippets) ? snippets : [])
          .filter((sn: any) => !query || (sn.shortcut ?? "").toLowerCase().includes(query) || (sn.name ?? "").toLowerCase().includes(query))
          .slice(0, 8);

  function change(v: string) {
    setText(v);
    sessionStorage.setItem("draft:" + id, v);
    setPick(0);
    const now = Date.now();
    if (!internal && v && now - lastTyping.current > 2000) {
      lastTyping.current = now;
      setTyping({ conversationId: id, isTyping: true }).catch(() => {});
    }
  }

  function insert(sn: any) {
    const start = before.length - (query!.length + 1);
    const next = text.slice(0, start) + sn.content + text.slice(caret);
    change(next);
    requestAnimationFrame(() => {
      const pos = start + sn.content.length;
      boxRef.current?.focus();
      boxRef.current?.setSelectionRange(pos, pos);
    });
  }

  async function submit() {
    const content = text.trim();
    const files = uploads.staged;
    if ((!content && files.length === 0) || uploads.uploading > 0) return;
    // Clear at once (the message shows up through the live query); put the
    // text and files back if the server refuses them.
    setText("");
    uploads.clear();
    sessionStorage.removeItem("draft:" + id);
    const attachmentIds = files.map((f) => f.attachmentId);
    const ok = await run(async () => {
      await send({
        conversationId: id,
        senderId: s.userId,
        senderType: "agent",
        content,
        ...(attachmentIds.length ? { attachmentIds } : {}),
        ...(internal ? { isInternal: true } : {}),
      });
      lastTyping.current = 0;
      setTyping({ conversationId: id, isTyping: false }).catch(() => {});
      return true;
    });
    if (!ok) {
      setText((cur) => cur || content);
      uploads.setStaged((cur) => (cur.length ? cur : files));
    }
  }

  function onKeyDown(e: RKeyboardEvent<HTMLTextAreaElement>) {
    if (matches.length > 0) {
      if (e.key === "ArrowDown") { setPick((pick + 1) % matches.length); e.preventDefault(); return; }
      if (e.key === "ArrowUp") { setPick((pick - 1 + matches.length) % matches.length); e.preventDefault(); return; }
      if (e.key === "Enter" || e.key === "Tab") { insert(matches[pick]); e.preventDefault(); return; }
      if (e.key === "Escape") { change(text.slice(0, before.length - (query!.length + 1)) + text.slice(caret)); e.preventDefault(); return; }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  }

  return (
    <div className={"composer" + (internal ? " internal" : "")}>
      {matches.length > 0 && (
        <ul className="snippet-picker" role="listbox" aria-label="Snippets">
          {matches.map((sn, i) => (
            <li key={sn._id} role="option" aria-selected={i === pick} className={i === pick ? "active" : ""} onMouseDown={(e) => { e.preventDefault(); insert(sn); }}>
              <b>{sn.shortcut ? "/" + sn.shortcut : sn.name}</b> <span className="muted">{sn.name}</span>
              <div className="snippet-preview">{sn.content}</div>
            </li>
          ))}
        </ul>
      )}
      <div className="composer-tabs" role="group" aria-label="Message type">
        <button className={"tab" + (!internal ? " active" : "")} aria-pressed={!internal} onClick={() => setInternal(false)}>
          Reply
        </button>
        <button className={"tab" + (internal ? " active" : "")} aria-pressed={internal} onClick={() => setInternal(true)}>
          Internal note
        </button>
      </div>
      <textarea
        id="compose-box"
        ref={boxRef}
        aria-label={internal ? "Internal note" : "Reply"}
        placeholder={internal ? "Write a note only your team can see…" : "Write a reply… (/ for snippets, Enter to send, Shift+Enter for a new line)"}
        value={text}
        rows={3}
        onChange={(e) => change(e.target.value)}
        onKeyDown={onKeyDown}
        onSelect={() => setPick((p) => p)}
      />
      <StagedChips staged={uploads.staged} onRemove={uploads.remove} />
      <div className="composer-foot">
        <label className="attach-btn" title="Attach files (PNG, JPEG, GIF, WEBP, PDF, TXT, CSV, JSON, ZIP; up to 10 MB)">
          <input
            type="file"
            multiple
            accept={ACCEPT}
            aria-label="Attach files"
            data-testid="attach-input"
            onChange={(e) => {
              attach(e.target.files);
              e.target.value = "";
            }}
          />
          <svg viewBox="0 0 24 24" width="14" height="14" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
            <path d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48" />
          </svg>
          Attach
        </label>
        {uploads.uploading > 0 && <span className="muted" role="status">Uploading…</span>}
        <ErrorNote error={error} onDismiss={() => setError(null)} />
        <span className="spacer" />
        <button onClick={submit} disabled={busy || uploads.uploading > 0 || (!text.trim() && uploads.staged.length === 0)}>
          {internal ? "Add note" : "Send"}
        </button>
      </div>
    </div>
  );
}

function VisitorSidebar({ visitor, conv, open, onClose }: { visitor: any; conv: any; open: boolean; onClose: () => void }) {
  const loc = visitor?.location ? [visitor.location.city, visitor.location.region, visitor.location.country].filter(Boolean).join(", ") : "";
  const dev = visitor?.device ? [visitor.device.browser, visitor.device.os, visitor.device.deviceType ?? visitor.device.platform].filter(Boolean).join(" · ") : "";
  const attrs = visitor?.customAttributes && typeof visitor.customAttributes === "object" ? Object.entries(visitor.customAttributes) : [];
  return (
    <aside className={"visitor-pane" + (open ? " open" : "")} aria-label="Visitor details">
      <div className="visitor-head">
        <h3>Visitor</h3>
        <button className="icon-btn close-side" aria-label="Close visitor details" onClick={onClose}>
          ×
        </button>
      </div>
      {!conv.visitorId ? (
        <p className="muted">No visitor on this conversation.</p>
      ) : visitor === undefined ? (
        <Loading />
      ) : visitor === null ? (
        <p className="muted">Visitor not found.</p>
      ) : (
        <dl className="facts" data-testid="visitor-details">
          <dt>Name</dt>
          <dd>{visitor.name || "—"}</dd>
          <dt>Email</dt>
          <dd>{visitor.email || "—"}</dd>
          <dt>ID</dt>
          <dd>{visitor.readableId || visitor._id}</dd>
          <dt>Location</dt>
          <dd>{loc || "—"}</dd>
          <dt>Device</dt>
          <dd>{dev || "—"}</dd>
          <dt>Verification</dt>
          <dd>
            {visitor.identityVerified ? (
              <span className="ok-text">✓ Verified{visitor.identityVerifiedAt ? ` ${fmtTime(visitor.identityVerifiedAt)}` : ""}</span>
            ) : visitor.externalUserId ? (
              "Not verified"
            ) : (
              "Anonymous"
            )}
          </dd>
          {visitor.externalUserId && (
            <>
              <dt>User ID</dt>
              <dd>{visitor.externalUserId}</dd>
            </>
          )}
          <dt>Last seen</dt>
          <dd>{fmtTime(visitor.lastSeenAt) || "—"}</dd>
          {visitor.currentUrl && (
            <>
              <dt>Page</dt>
              <dd className="break">{visitor.currentUrl}</dd>
            </>
          )}
          {attrs.length > 0 && (
            <>
              <dt className="attrs-title">Attributes</dt>
              <dd />
              {attrs.map(([k, v]) => (
                <FactRow key={k} k={k} v={v} />
              ))}
            </>
          )}
        </dl>
      )}
    </aside>
  );
}

function FactRow({ k, v }: { k: string; v: unknown }) {
  return (
    <>
      <dt>{k}</dt>
      <dd>{typeof v === "object" ? JSON.stringify(v) : String(v)}</dd>
    </>
  );
}
