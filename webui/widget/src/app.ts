// The messenger: loaded lazily by widget.js. Vanilla TS + the real `convex`
// client (ConvexClient over the sync WebSocket). Everything renders inside an
// open Shadow DOM attached to <div id="opencom-widget">.
import { ConvexClient } from "convex/browser";
import css from "./styles.css";

type User = {
  userId?: string;
  email?: string;
  name?: string;
  userHash?: string;
  company?: string;
  customAttributes?: Record<string, unknown>;
};
type Config = { convexUrl: string; workspaceId: string; trackPageViews?: boolean; user?: User };
type Session = { token: string; expiresAt: number; issuedAt: number; visitorId: string; ext?: string | null; email?: string | null };
type Staged = { attachmentId: string; fileName: string; mimeType: string; size: number };
type Pending = { id: string; content: string; files: Staged[]; convId: string | null; status: "pending" | "failed"; error?: string; retried?: boolean };
type Doc = Record<string, any> & { _id: string };

// Function names (see server/identity and server/inbox).
const F = {
  boot: "widgetSessions:boot",
  refresh: "widgetSessions:refresh",
  identify: "visitors:identify",
  unread: "conversations:getTotalUnreadForVisitor",
  convs: "conversations:listByVisitor",
  create: "conversations:createForVisitor",
  markRead: "conversations:markAsRead",
  messages: "messages:list",
  send: "messages:send",
  typing: "typing:getForConversation",
  setTyping: "typing:set",
  automation: "automationSettings:getOrCreate",
  csatEligibility: "reporting:getCsatEligibility",
  csatSubmit: "reporting:submitCsatResponse",
  track: "events:track",
  autoEvent: "events:trackAutoEvent",
  uploadUrl: "supportAttachments:generateUploadUrl",
  finalize: "supportAttachments:finalizeUpload",
};

const MAX_FILES = 5;
const ACCEPT = ".png,.jpg,.jpeg,.gif,.webp,.pdf,.txt,.csv,.json,.zip";

function fileSize(n: number): string {
  return n < 1024 ? n + " B" : n < 1048576 ? Math.round(n / 1024) + " KB" : (n / 1048576).toFixed(1) + " MB";
}

// Attachment descriptors {_id, fileName, mimeType, size, url}: images as
// thumbnails linking to the file, anything else as a download link.
function attachmentNodes(list: any): Node | null {
  if (!Array.isArray(list) || !list.length) return null;
  return h(
    "div",
    { class: "files" },
    list.map((a: any) => {
      const url = typeof a.url === "string" && /^https?:/i.test(a.url) ? a.url : null;
      const name = String(a.fileName ?? "file");
      if (!url) return h("span", { class: "file" }, name);
      if (String(a.mimeType).startsWith("image/"))
        return h("a", { class: "file img", href: url, target: "_blank", rel: "noopener noreferrer", title: name }, h("img", { src: url, alt: name, loading: "lazy" }));
      return h("a", { class: "file", href: url, download: name, target: "_blank", rel: "noopener noreferrer" }, name + " (" + fileSize(Number(a.size) || 0) + ")");
    }),
  );
}

const REFRESH_AT = 0.75; // refresh once 75 % of the lifetime is gone (< 25 % left)
const SESSION_ERR = /Invalid session token|Session expired|Session token (required|does not match)/i;

const ls = {
  get(k: string): string | null {
    try {
      return localStorage.getItem(k);
    } catch {
      return null;
    }
  },
  set(k: string, v: string) {
    try {
      localStorage.setItem(k, v);
    } catch {}
  },
  del(k: string) {
    try {
      localStorage.removeItem(k);
    } catch {}
  },
};

function randomHex(n: number) {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function sessionId(): string {
  let id = ls.get("opencom_session_id");
  if (!id) {
    id = "session_" + randomHex(24);
    ls.set("opencom_session_id", id);
  }
  return id;
}

function errText(e: unknown): string {
  const anyE = e as any;
  if (anyE && typeof anyE.data === "string") return anyE.data;
  if (anyE && anyE.data && typeof anyE.data.message === "string") return anyE.data.message;
  const m = e instanceof Error ? e.message : String(e);
  // ConvexError / server errors arrive as "[Request ID: …] Server Error\nUncaught Error: <msg>\n  at …"
  const u = /Uncaught (?:Convex)?Error: ([^\n]*)/.exec(m);
  return (u ? u[1] : m.split("\n")[0]).trim();
}

// Event properties as the server accepts them: strings, finite numbers,
// booleans, null, and arrays of strings/numbers; anything else is dropped.
function eventProps(data?: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  let n = 0;
  const ok = (v: unknown) => (typeof v === "number" && isFinite(v)) || typeof v === "string";
  if (!data || typeof data !== "object" || Array.isArray(data)) return out;
  for (const k of Object.keys(data)) {
    const v = (data as any)[k];
    if (!k || k.length > 100 || n >= 50) continue;
    if (typeof v === "string") out[k] = v.slice(0, 2048);
    else if (v === null || typeof v === "boolean" || ok(v)) out[k] = v;
    else if (Array.isArray(v) && v.length <= 100 && v.every(ok)) out[k] = v.map((x) => (typeof x === "string" ? x.slice(0, 2048) : x));
    else continue;
    n++;
  }
  return out;
}

type Child = Node | string | number | null | undefined | false | Child[];
function h(tag: string, props?: Record<string, any> | null, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  if (props)
    for (const k in props) {
      const v = props[k];
      if (v == null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  const add = (c: Child) => {
    if (c == null || c === false) return;
    if (Array.isArray(c)) c.forEach(add);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  };
  children.forEach(add);
  return el;
}

const CHAT_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3C6.5 3 2 6.9 2 11.6c0 2.4 1.2 4.6 3.1 6.1L4.4 21l3.9-1.9c1.2.4 2.4.6 3.7.6 5.5 0 10-3.9 10-8.6S17.5 3 12 3z"/></svg>';
const CLIP_ICON =
  '<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48"/></svg>';
const CLOSE_ICON = '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path fill="currentColor" d="M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z"/></svg>';

function timeOf(ms: number) {
  try {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  } catch {
    return "";
  }
}

class Widget {
  cfg: Config;
  client: ConvexClient;
  host: HTMLElement;
  root: ShadowRoot;
  sid = sessionId();
  key: string;
  session: Session | null = null;
  user: User | undefined;
  ready: Promise<void>;
  refreshTimer: any = 0;
  rebooting: Promise<void> | null = null;
  destroyed = false;
  booted = false; // this widget booted a new session (rather than reusing a stored one)

  // UI state
  isOpen = false;
  view: "list" | "conv" = "list";
  convId: string | null = null;
  conversations: Doc[] | undefined;
  unread = 0;
  messages: Doc[] | undefined;
  pending: Pending[] = [];
  typing = "";
  automation: Doc | null = null;
  csat: Doc | null = null;
  csatDone: Record<string, number> = {};
  emailDismissed = false;
  error = "";
  connected = true;
  everConnected = false;
  seq = 0;
  creating: Promise<string> | null = null;

  subs: Array<() => void> = [];
  convSubs: Array<() => void> = [];
  cleanup: Array<() => void> = [];

  // DOM
  launcher!: HTMLButtonElement;
  badge!: HTMLElement;
  panel!: HTMLElement;
  title!: HTMLElement;
  back!: HTMLButtonElement;
  banner!: HTMLElement;
  body!: HTMLElement;
  composer!: HTMLFormElement;
  chips!: HTMLElement;
  input!: HTMLTextAreaElement;
  live!: HTMLElement;

  constructor(cfg: Config) {
    this.cfg = cfg;
    this.user = cfg.user;
    this.key = "opencom_widget_session:" + cfg.workspaceId;
    this.client = new ConvexClient(cfg.convexUrl, { unsavedChangesWarning: false } as any);
    const old = document.getElementById("opencom-widget");
    if (old) old.remove();
    this.host = h("div", { id: "opencom-widget" });
    this.root = this.host.attachShadow({ mode: "open" });
    this.root.appendChild(h("style", { text: css }));
    this.buildShell();
    document.body.appendChild(this.host);
    this.watchConnection();
    this.ready = this.start();
  }

  // ---------- session ----------

  async start() {
    try {
      await this.ensureSession(this.user);
    } catch (e) {
      this.setError(errText(e));
      throw e;
    }
    // Page views are opt-in, as in Opencom (its install snippet sets
    // data-opencom-track-page-views="true").
    if (this.cfg.trackPageViews) {
      if (this.booted) this.autoEvent("session_start", { language: navigator.language, screenWidth: screen.width, screenHeight: screen.height });
      this.trackPageViews();
    }
  }

  readStored(): Session | null {
    try {
      const s = JSON.parse(ls.get(this.key) || "null");
      return s && typeof s.token === "string" && typeof s.expiresAt === "number" ? s : null;
    } catch {
      return null;
    }
  }

  async ensureSession(user?: User, force = false) {
    const stored = this.readStored();
    const now = Date.now();
    const wantExt = user && user.userId ? user.userId : null;
    const profileChange = !!user && !!(user.userHash || user.email || user.name || user.customAttributes);
    if (!force && stored && stored.expiresAt > now && !profileChange && (wantExt === null || wantExt === stored.ext)) {
      this.useSession(stored);
      if (now - stored.issuedAt >= REFRESH_AT * (stored.expiresAt - stored.issuedAt)) await this.refresh();
      return;
    }
    await this.boot(user);
  }

  async boot(user?: User) {
    const u = user || {};
    const attrs = { ...(u.company ? { company: u.company } : {}), ...(u.customAttributes || {}) };
    const args: Record<string, any> = {
      workspaceId: this.cfg.workspaceId,
      sessionId: this.sid,
      device: this.device(),
      currentUrl: location.href,
      origin: location.origin,
      clientType: "web_widget",
    };
    if (document.referrer) args.referrer = document.referrer;
    if (u.email) args.email = u.email;
    if (u.name) args.name = u.name;
    if (u.userId) args.externalUserId = u.userId;
    if (u.userHash) args.userHash = u.userHash;
    if (Object.keys(attrs).length) args.customAttributes = attrs;
    const res: any = await this.client.mutation(F.boot as any, args);
    if (!res || !res.sessionToken || !res.visitor) throw new Error("Widget session could not be started");
    this.booted = true;
    const s: Session = {
      token: res.sessionToken,
      expiresAt: res.expiresAt,
      issuedAt: Date.now(),
      visitorId: res.visitor._id,
      ext: res.visitor.externalUserId ?? u.userId ?? null,
      email: res.visitor.email ?? null,
    };
    this.useSession(s);
    return res;
  }

  async refresh() {
    const s = this.session;
    if (!s) return;
    try {
      const r: any = await this.client.mutation(F.refresh as any, { sessionToken: s.token });
      this.useSession({ ...s, token: r.sessionToken, expiresAt: r.expiresAt, issuedAt: Date.now() });
    } catch (e) {
      if (SESSION_ERR.test(errText(e))) await this.reboot(s.token);
      else throw e;
    }
  }

  // Re-boot after the server rejected our token (expired, revoked, unknown).
  reboot(badToken?: string): Promise<void> {
    if (badToken && this.session && this.session.token !== badToken) return Promise.resolve();
    if (!this.rebooting) {
      ls.del(this.key);
      this.rebooting = this.boot(this.user && this.user.userHash ? this.user : undefined)
        .then(() => undefined)
        .finally(() => (this.rebooting = null));
    }
    return this.rebooting;
  }

  useSession(s: Session) {
    if (this.destroyed) return;
    const changed = !this.session || this.session.token !== s.token || this.session.visitorId !== s.visitorId;
    const visitorChanged = !this.session || this.session.visitorId !== s.visitorId;
    this.session = s;
    ls.set(this.key, JSON.stringify(s));
    this.host.setAttribute("data-visitor", s.visitorId);
    this.host.setAttribute("data-state", "ready");
    clearTimeout(this.refreshTimer);
    const due = s.issuedAt + REFRESH_AT * (s.expiresAt - s.issuedAt) - Date.now();
    this.refreshTimer = setTimeout(() => this.refresh().catch((e) => console.warn("[Opencom Widget] refresh failed", e)), Math.max(1000, Math.min(due, 2 ** 31 - 1)));
    if (visitorChanged) {
      this.convId = null;
      this.view = "list";
      this.messages = undefined;
      this.conversations = undefined;
      this.emailEl = null;
    }
    if (changed) this.subscribe();
    this.render();
  }

  sessionArgs() {
    const s = this.session!;
    return { workspaceId: this.cfg.workspaceId, visitorId: s.visitorId, sessionToken: s.token };
  }

  device() {
    const ua = navigator.userAgent;
    const browser = /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome" : /Firefox\//.test(ua) ? "Firefox" : /Safari\//.test(ua) ? "Safari" : "Other";
    const os = /Windows/.test(ua) ? "Windows" : /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Mac OS X/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "Other";
    return { browser, os, deviceType: /Mobi/.test(ua) ? "mobile" : "desktop", platform: "web" };
  }

  // ---------- subscriptions ----------

  watch(list: Array<() => void>, name: string, args: any, cb: (v: any) => void) {
    const token = args.sessionToken;
    const unsub = this.client.onUpdate(name as any, args, cb, (e: Error) => {
      const m = errText(e);
      if (SESSION_ERR.test(m)) this.reboot(token).catch((err) => this.setError(errText(err)));
      else console.warn("[Opencom Widget]", name, m);
    });
    list.push(() => unsub());
  }

  subscribe() {
    this.subs.splice(0).forEach((u) => u());
    if (!this.session) return;
    const a = this.sessionArgs();
    this.watch(this.subs, F.unread, a, (n) => {
      this.unread = typeof n === "number" && n > 0 ? Math.floor(n) : 0;
      this.renderBadge();
    });
    this.watch(this.subs, F.convs, a, (list) => {
      this.conversations = Array.isArray(list) ? list : [];
      this.render();
    });
    this.watch(this.subs, F.automation, { workspaceId: this.cfg.workspaceId }, (s) => {
      this.automation = s || null;
      this.render();
    });
    this.subscribeConv();
  }

  subscribeConv() {
    this.convSubs.splice(0).forEach((u) => u());
    this.messages = undefined;
    this.typing = "";
    this.csat = null;
    const id = this.convId;
    if (!this.session || !id) return;
    const s = this.session;
    const a = { conversationId: id, visitorId: s.visitorId, sessionToken: s.token };
    this.watch(this.convSubs, F.messages, a, (msgs) => {
      if (id !== this.convId) return;
      this.messages = Array.isArray(msgs) ? msgs : (msgs && msgs.page) || [];
      this.render();
      if (this.isOpen) this.markRead();
    });
    this.watch(this.convSubs, F.typing, { conversationId: id, sessionToken: s.token }, (t) => {
      const agent = Array.isArray(t) ? t.find((x: any) => x && x.userType === "agent") : null;
      const v = agent ? agent.name || "Support" : "";
      if (v !== this.typing) {
        this.typing = v;
        this.render();
      }
    });
    this.watch(this.convSubs, F.csatEligibility, a, (r) => {
      this.csat = r || null;
      this.render();
    });
  }

  markReadTimer: any = 0;
  markRead() {
    const id = this.convId;
    if (!id || !this.session) return;
    clearTimeout(this.markReadTimer);
    this.markReadTimer = setTimeout(() => {
      const s = this.session!;
      this.client
        .mutation(F.markRead as any, { id, readerType: "visitor", visitorId: s.visitorId, sessionToken: s.token })
        .catch(() => {});
    }, 150);
  }

  watchConnection() {
    const c: any = this.client;
    if (!c.subscribeToConnectionState) return;
    const off = c.subscribeToConnectionState((st: any) => {
      const up = !!st.isWebSocketConnected;
      if (up) this.everConnected = true;
      if (up !== this.connected) {
        this.connected = up;
        this.host.setAttribute("data-connected", String(up));
        this.renderBanner();
      }
    });
    this.cleanup.push(() => off && off());
  }

  // ---------- actions ----------

  setError(m: string) {
    this.error = m;
    this.host.setAttribute("data-error", m);
    if (!this.session) this.host.setAttribute("data-state", "error");
    this.renderBanner();
  }

  open() {
    if (this.isOpen) return;
    this.isOpen = true;
    this.render();
    if (this.view === "conv") this.markRead();
    setTimeout(() => {
      const first = this.view === "conv" ? this.input : (this.body.querySelector("button") as HTMLElement) || this.input;
      first && first.focus();
    }, 0);
  }

  close() {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.render();
    this.launcher.focus();
  }

  openConversation(id: string | null) {
    this.convId = id;
    this.view = "conv";
    this.subscribeConv();
    this.render();
    if (id) this.markRead();
    setTimeout(() => this.input.focus(), 0);
  }

  showList() {
    if (this.convId) this.markRead();
    this.view = "list";
    this.convId = null;
    this.subscribeConv();
    this.render();
  }

  async identify(user: User) {
    if (!user || typeof user !== "object") throw new Error("identify expects an object");
    const prev = this.user;
    this.user = { ...(prev && prev.userId === user.userId ? prev : {}), ...user };
    try {
      await this.ready.catch(() => {});
      const res: any = await this.boot(this.user);
      this.error = "";
      this.host.removeAttribute("data-error");
      this.renderBanner();
      return { visitorId: res.visitor._id, identityVerified: !!res.visitor.identityVerified };
    } catch (e) {
      this.user = prev;
      const m = errText(e);
      this.setError(m);
      throw new Error(m);
    }
  }

  async ensureConversation(): Promise<string> {
    if (this.convId) return this.convId;
    if (!this.creating) {
      const s = this.session!;
      this.creating = (this.client.mutation(F.create as any, this.sessionArgs()) as Promise<any>)
        .then((r) => {
          const id = typeof r === "string" ? r : r && r._id;
          if (!id) throw new Error("Could not start a conversation");
          if (this.session === s || (this.session && this.session.visitorId === s.visitorId)) {
            if (!this.convId && this.view === "conv") {
              this.convId = id;
              this.subscribeConv();
            }
          }
          return id;
        })
        .finally(() => (this.creating = null));
    }
    return this.creating;
  }

  staged: Staged[] = [];
  uploading = 0;

  async attach(files: File[]) {
    if (!this.session) return;
    if (files.length > MAX_FILES - this.staged.length) {
      this.setError(`You can attach up to ${MAX_FILES} files at a time.`);
      files = files.slice(0, Math.max(0, MAX_FILES - this.staged.length));
    }
    for (const file of files) {
      this.uploading++;
      this.render();
      try {
        const args = this.sessionArgs();
        const url: string = await this.client.mutation(F.uploadUrl as any, args);
        const res = await fetch(url, { method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file });
        if (res.status === 413) throw new Error("File exceeds 10MB maximum size.");
        if (!res.ok) throw new Error("Upload failed");
        const { storageId } = await res.json();
        const r: any = await this.client.mutation(F.finalize as any, { ...args, storageId, fileName: file.name });
        if (r.status !== "staged") throw new Error(r.message || "Upload rejected");
        this.staged.push({ attachmentId: r.attachmentId, fileName: r.fileName, mimeType: r.mimeType, size: r.size });
      } catch (e) {
        this.setError(file.name + ": " + errText(e));
      } finally {
        this.uploading--;
        this.render();
      }
    }
  }

  send(text: string) {
    const content = text.trim();
    if ((!content && !this.staged.length) || !this.session || this.uploading) return;
    const files = this.staged;
    this.staged = [];
    const p: Pending = { id: "p" + ++this.seq, content, files, convId: this.convId, status: "pending" };
    this.pending.push(p);
    this.render();
    this.deliver(p);
  }

  async deliver(p: Pending) {
    p.status = "pending";
    p.error = undefined;
    this.render();
    try {
      if (!p.convId) p.convId = await this.ensureConversation();
      const s = this.session!;
      await this.client.mutation(F.send as any, {
        conversationId: p.convId,
        content: p.content,
        ...(p.files.length ? { attachmentIds: p.files.map((f) => f.attachmentId) } : {}),
        senderType: "visitor",
        senderId: s.visitorId,
        visitorId: s.visitorId,
        sessionToken: s.token,
      });
      // The convex client applies the query results that include this
      // message before the mutation promise resolves: drop the local copy.
      this.pending = this.pending.filter((x) => x !== p);
      this.render();
    } catch (e) {
      const m = errText(e);
      if (SESSION_ERR.test(m) && !p.retried && this.session) {
        p.retried = true;
        try {
          await this.reboot(this.session.token);
          return this.deliver(p);
        } catch {}
      }
      p.status = "failed";
      p.error = m;
      this.render();
    }
  }

  typingSent = 0;
  sendTyping() {
    if (!this.convId || !this.session || Date.now() - this.typingSent < 3000) return;
    this.typingSent = Date.now();
    const s = this.session;
    this.client
      .mutation(F.setTyping as any, { conversationId: this.convId, sessionToken: s.token, isTyping: true })
      .catch(() => {});
  }

  async submitEmail(email: string) {
    const s = this.session;
    if (!s) return;
    const v: any = await this.client.mutation(F.identify as any, { visitorId: s.visitorId, sessionToken: s.token, email, origin: location.origin });
    // identify may merge this visitor into an earlier one with the same
    // email (for a verified user); the token then belongs to that visitor.
    this.useSession({ ...s, email, visitorId: (v && v._id) || s.visitorId });
  }

  async submitCsat(rating: number) {
    const s = this.session;
    const id = this.convId;
    if (!s || !id) return;
    await this.client.mutation(F.csatSubmit as any, { conversationId: id, rating, visitorId: s.visitorId, sessionToken: s.token });
    this.csatDone[id] = rating;
    this.render();
  }

  // OpencomWidget.trackEvent → events:track (a manual event). Resolves to
  // the event id, or undefined when it could not be recorded (warned).
  trackEvent(name: string, data?: Record<string, unknown>): Promise<unknown> {
    if (typeof name !== "string" || !name.trim()) throw new Error("trackEvent expects an event name");
    const s = this.session;
    if (!s) return this.ready.then(() => this.trackEvent(name, data), () => undefined);
    return this.client
      .mutation(F.track as any, {
        workspaceId: this.cfg.workspaceId,
        visitorId: s.visitorId,
        sessionToken: s.token,
        sessionId: this.sid,
        name,
        properties: eventProps(data),
        url: location.href.slice(0, 4096),
      })
      .catch((e) => {
        console.warn("[Opencom Widget] trackEvent:", errText(e));
      });
  }

  // An automatic event (events:trackAutoEvent). Best effort: the server may
  // drop it (rate limit) and a failure is only logged at debug level.
  autoEvent(eventType: string, props: Record<string, unknown>) {
    const s = this.session;
    if (!s || this.destroyed) return;
    try {
      this.client
        .mutation(F.autoEvent as any, {
          workspaceId: this.cfg.workspaceId,
          visitorId: s.visitorId,
          sessionToken: s.token,
          sessionId: this.sid,
          eventType,
          url: location.href.slice(0, 4096),
          properties: eventProps(props),
        })
        .catch((e) => console.debug("[Opencom Widget] " + eventType + " not recorded:", errText(e)));
    } catch (e) {
      console.debug("[Opencom Widget] " + eventType + " not recorded:", e);
    }
  }

  // A page_view now and whenever the URL changes: history.pushState and
  // replaceState (wrapped: the host's call runs first and unchanged, we only
  // look at the URL afterwards), back/forward (popstate) and hashchange.
  trackPageViews() {
    let last = "";
    const pv = () => {
      const url = location.href;
      if (this.destroyed || url === last) return;
      // The first view's referrer is the document's; an in-app
      // navigation's is the page it came from.
      const referrer = last || document.referrer || null;
      last = url;
      this.autoEvent("page_view", { title: document.title, referrer });
    };
    pv();
    const later = () => setTimeout(pv, 0); // let the app update the title first
    const h = history as any;
    for (const m of ["pushState", "replaceState"]) {
      const orig = h[m];
      if (typeof orig !== "function") continue;
      let on = true;
      const wrapped = function (this: any) {
        const r = orig.apply(this, arguments as any);
        if (on) later();
        return r;
      };
      h[m] = wrapped;
      // Unwrap only if nobody wrapped ours since; otherwise stay in place
      // as a pass-through so their wrapper keeps working.
      this.cleanup.push(() => {
        on = false;
        if (h[m] === wrapped) h[m] = orig;
      });
    }
    for (const ev of ["popstate", "hashchange"]) {
      addEventListener(ev, later);
      this.cleanup.push(() => removeEventListener(ev, later));
    }
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.markReadTimer);
    this.convSubs.splice(0).forEach((u) => u());
    this.subs.splice(0).forEach((u) => u());
    this.cleanup.splice(0).forEach((u) => u());
    this.client.close();
    this.host.remove();
  }

  // ---------- rendering ----------

  buildShell() {
    this.badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    this.launcher = h("button", { class: "launcher", type: "button", "aria-label": "Open chat", "aria-expanded": "false", part: "launcher" }) as HTMLButtonElement;
    this.launcher.innerHTML = CHAT_ICON;
    this.launcher.appendChild(this.badge);
    this.launcher.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));

    this.back = h("button", { class: "icon-btn", type: "button", "aria-label": "Back to conversations", hidden: true, onClick: () => this.showList() }, "‹") as HTMLButtonElement;
    this.title = h("h2", { id: "oc-title" }, "Messages");
    const closeBtn = h("button", { class: "icon-btn", type: "button", "aria-label": "Close chat", onClick: () => this.close() });
    closeBtn.innerHTML = CLOSE_ICON;
    this.banner = h("div", { class: "banner", role: "status", hidden: true });
    this.body = h("div", { class: "body", tabindex: "-1" });
    this.live = h("div", { class: "sr", "aria-live": "polite" });
    this.input = h("textarea", { rows: "1", placeholder: "Write a message…", "aria-label": "Message" }) as HTMLTextAreaElement;
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.composer.requestSubmit ? this.composer.requestSubmit() : this.onSubmit();
      }
    });
    this.input.addEventListener("input", () => this.sendTyping());
    const fileInput = h("input", { type: "file", multiple: true, accept: ACCEPT, class: "sr", tabindex: "-1", "aria-hidden": "true", "data-attach": "" }) as HTMLInputElement;
    fileInput.addEventListener("change", () => {
      const files = Array.from(fileInput.files || []);
      fileInput.value = "";
      if (files.length) this.attach(files);
    });
    const attachBtn = h("button", { type: "button", class: "attach", "aria-label": "Attach files", title: "Attach files", onClick: () => fileInput.click() });
    attachBtn.innerHTML = CLIP_ICON;
    this.chips = h("ul", { class: "chips", "aria-label": "Attached files", hidden: true });
    this.composer = h(
      "form",
      { class: "composer", hidden: true },
      fileInput,
      attachBtn,
      this.input,
      h("button", { type: "submit", "aria-label": "Send message" }, "Send"),
    ) as HTMLFormElement;
    this.composer.addEventListener("submit", (e) => {
      e.preventDefault();
      this.onSubmit();
    });
    this.panel = h(
      "div",
      { class: "panel", role: "dialog", "aria-labelledby": "oc-title", hidden: true, part: "panel" },
      h("div", { class: "head" }, this.back, this.title, closeBtn),
      this.banner,
      this.body,
      this.chips,
      this.composer,
      this.live,
    );
    this.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        this.close();
      }
    });
    this.root.appendChild(this.panel);
    this.root.appendChild(this.launcher);
    this.host.setAttribute("data-state", "booting");
  }

  onSubmit() {
    const v = this.input.value;
    if ((!v.trim() && !this.staged.length) || this.uploading) return;
    this.input.value = "";
    this.send(v);
  }

  renderBadge() {
    const n = this.unread;
    this.badge.hidden = n === 0;
    this.badge.textContent = n > 99 ? "99+" : String(n);
    this.launcher.setAttribute("aria-label", n ? `Open chat, ${n} unread message${n === 1 ? "" : "s"}` : "Open chat");
    this.host.setAttribute("data-unread", String(n));
  }

  renderBanner() {
    const offline = !this.connected && this.everConnected;
    const msg = this.error || (offline ? "Reconnecting…" : "");
    this.banner.hidden = !msg;
    this.banner.className = "banner" + (this.error ? " err" : "");
    this.banner.textContent = msg;
  }

  render() {
    if (this.destroyed) return;
    this.renderBadge();
    this.renderBanner();
    this.launcher.setAttribute("aria-expanded", String(this.isOpen));
    this.panel.hidden = !this.isOpen;
    this.host.setAttribute("data-open", String(this.isOpen));
    this.host.setAttribute("data-view", this.view);
    if (!this.isOpen) return;
    const inConv = this.view === "conv";
    this.back.hidden = !inConv;
    this.composer.hidden = !inConv;
    this.chips.hidden = !inConv || (!this.staged.length && !this.uploading);
    this.chips.replaceChildren(
      ...this.staged.map((f) =>
        h(
          "li",
          { class: "chip" },
          f.fileName + " ",
          h("button", { type: "button", "aria-label": "Remove " + f.fileName, onClick: () => ((this.staged = this.staged.filter((x) => x !== f)), this.render()) }, "×"),
        ),
      ),
      ...(this.uploading ? [h("li", { class: "chip", role: "status" }, "Uploading…")] : []),
    );
    this.title.textContent = inConv ? "Conversation" : "Messages";
    const atBottom = this.body.scrollHeight - this.body.scrollTop - this.body.clientHeight < 40;
    // Re-rendering replaces nodes: keep keyboard focus on the "same" control.
    const active = this.root.activeElement as HTMLElement | null;
    const focusKey = active && this.body.contains(active) ? active.getAttribute("data-key") : null;
    const content = inConv ? this.renderConversation() : this.renderList();
    this.body.replaceChildren(...content);
    if (focusKey) {
      const again = this.body.querySelector<HTMLElement>(`[data-key="${focusKey}"]`);
      if (again && again !== this.root.activeElement) again.focus();
    }
    if (inConv && (atBottom || this.pending.length)) this.body.scrollTop = this.body.scrollHeight;
  }

  renderList(): Node[] {
    const list = this.conversations;
    if (!this.session) return [h("p", { class: "empty" }, this.error ? "The chat is unavailable right now." : "Connecting…")];
    const start = h("button", { class: "primary", type: "button", "data-key": "new", onClick: () => this.openConversation(null) }, "Send us a message");
    if (!list) return [h("p", { class: "empty" }, "Loading…")];
    if (!list.length) return [h("p", { class: "empty" }, "Questions? We're here to help."), start];
    const items = [...list].sort((a, b) => (b.lastMessageAt || b.updatedAt || b.createdAt || 0) - (a.lastMessageAt || a.updatedAt || a.createdAt || 0));
    return [
      h(
        "ul",
        { class: "convs", "aria-label": "Your conversations" },
        items.map((c) => {
          const last = c.lastMessage && c.lastMessage.content;
          const unread = c.unreadByVisitor || 0;
          return h(
            "li",
            null,
            h(
              "button",
              { class: "conv", type: "button", "data-conversation": c._id, "data-key": "c" + c._id, onClick: () => this.openConversation(c._id) },
              h("span", { class: "txt" }, h("span", { class: "title" }, "Conversation"), h("span", { class: "prev" }, last || "No messages yet")),
              c.status && c.status !== "open" ? h("span", { class: "st" }, c.status) : null,
              unread ? h("span", { class: "n", "aria-label": `${unread} unread` }, unread) : null,
            ),
          );
        }),
      ),
      start,
    ];
  }

  renderConversation(): Node[] {
    const out: Node[] = [];
    const id = this.convId;
    const msgs = (id && this.messages) || [];
    const pend = this.pending.filter((p) => p.convId === id || (!p.convId && !id));
    if (!msgs.length && !pend.length) out.push(h("p", { class: "empty" }, id && !this.messages ? "Loading…" : "Ask us anything. We usually reply in a few minutes."));
    const items = msgs.map((m) => {
      const me = m.senderType === "visitor";
      const who = me ? "" : m.senderName || (m.senderType === "bot" ? "Bot" : "Support");
      return h(
        "li",
        { class: "msg" + (me ? " me" : " them"), "data-message": m._id, "data-sender": m.senderType },
        who ? h("span", { class: "who" }, who) : null,
        m.content ? h("div", { class: "bubble" }, String(m.content)) : null,
        attachmentNodes(m.attachments),
        h("span", { class: "meta" }, timeOf(m.createdAt || m._creationTime)),
      );
    });
    for (const p of pend) {
      items.push(
        h(
          "li",
          { class: "msg me " + p.status, "data-pending": p.status },
          p.content ? h("div", { class: "bubble" }, p.content) : null,
          p.files.length ? h("div", { class: "files" }, p.files.map((f) => h("span", { class: "file" }, f.fileName))) : null,
          h(
            "span",
            { class: "meta" },
            p.status === "pending"
              ? "Sending…"
              : [`Not delivered${p.error ? " (" + p.error + ")" : ""} · `, h("button", { type: "button", "data-key": "retry" + p.id, onClick: () => this.deliver(p) }, "Retry")],
          ),
        ),
      );
    }
    if (items.length) out.push(h("ul", { class: "msgs", "aria-label": "Messages" }, items));
    if (this.typing) out.push(h("div", { class: "typing", "data-typing": "", "aria-live": "polite" }, `${this.typing} is typing…`));
    const conv = id && this.conversations ? this.conversations.find((c) => c._id === id) : null;
    // Email capture: the workspace asks for it, we don't know the visitor's
    // email, and they have written to us.
    const sentSomething = msgs.some((m) => m.senderType === "visitor") || pend.length > 0;
    if (this.automation && this.automation.collectEmailEnabled && !(this.session && this.session.email) && !this.emailDismissed && sentSomething) {
      out.push((this.emailEl = this.emailEl || this.emailCard()));
    }
    if (conv && conv.status === "closed") {
      out.push(h("p", { class: "closed" }, "This conversation has been closed."));
      const done = this.csatDone[conv._id] || (this.csat && (this.csat.rating || this.csat.alreadySubmitted || this.csat.submitted));
      const eligible = this.csat ? this.csat.eligible !== false : this.automation ? this.automation.askForRatingEnabled !== false : true;
      if (done) out.push(h("div", { class: "card", "data-csat": "done" }, h("p", null, "Thanks for your feedback!")));
      else if (eligible) out.push(this.csatCard());
    }
    return out;
  }

  emailEl: HTMLElement | null = null;
  emailCard(): HTMLElement {
    const input = h("input", { type: "email", required: true, "data-key": "email", placeholder: "you@example.com", "aria-label": "Your email", autocomplete: "email" }) as HTMLInputElement;
    const note = h("p", { class: "note", role: "status" });
    const form = h(
      "form",
      { class: "card", "data-email-capture": "", novalidate: true },
      h("p", null, "Get notified by email when we reply:"),
      h("div", { class: "row" }, input, h("button", { type: "submit" }, "Save")),
      note,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) {
        note.textContent = "Please enter a valid email address.";
        return;
      }
      note.textContent = "Saving…";
      this.submitEmail(v).catch((err) => (note.textContent = errText(err)));
    });
    return form;
  }

  csatCard(): Node {
    const labels = ["Terrible", "Bad", "OK", "Good", "Amazing"];
    const note = h("p", { class: "note", role: "status" });
    return h(
      "div",
      { class: "card", "data-csat": "prompt", role: "group", "aria-label": "Rate your conversation" },
      h("p", null, "How would you rate our help?"),
      h(
        "div",
        { class: "stars" },
        labels.map((l, i) =>
          h(
            "button",
            {
              type: "button",
              "aria-label": `${i + 1} out of 5: ${l}`,
              "data-key": "star" + i,
              title: l,
              onClick: () => {
                note.textContent = "Sending…";
                this.submitCsat(i + 1).catch((err) => (note.textContent = errText(err)));
              },
            },
            "★",
          ),
        ),
      ),
      note,
    );
  }
}

let current: Widget | null = null;
const need = () => {
  if (!current) throw new Error("Opencom widget is not initialized: call OpencomWidget.init first");
  return current;
};

export function init(cfg: Config) {
  if (!cfg || !cfg.convexUrl || !cfg.workspaceId) throw new Error("convexUrl and workspaceId are required");
  if (current) current.destroy();
  current = new Widget(cfg);
  return current.ready.then(() => undefined);
}
export const identify = (user: User) => need().identify(user);
export const open = () => need().open();
export const close = () => need().close();
export const trackEvent = (name: string, data?: Record<string, unknown>) => need().trackEvent(name, data);
export function destroy() {
  if (current) current.destroy();
  current = null;
}
