import { Component, createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import { useQueries } from "convex/react";
import type { FunctionReference } from "convex/server";
import { ConvexError } from "convex/values";
import type { ConvexReactClient } from "convex/react";

// ---------- errors ----------

/** A readable one-line description of any error, with its code when the server gave one. */
export function errorText(e: unknown): string {
  if (e instanceof ConvexError || (e && typeof e === "object" && "data" in e)) {
    const d = (e as { data: unknown }).data;
    if (d && typeof d === "object") {
      const { code, message } = d as { code?: string; message?: string };
      if (code && message) return `${message} (${code})`;
      if (message) return message;
      if (code) return code;
    }
    if (typeof d === "string") return d;
  }
  if (e instanceof Error) {
    // Server errors arrive as "[Request ID: …] Server Error\nUncaught Error: msg\n  at …".
    const m = e.message.match(/Uncaught (?:Convex)?Error: ([^\n]+)/);
    return m ? m[1] : e.message.split("\n")[0];
  }
  return String(e);
}

export function ErrorNote({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <span>{errorText(error)}</span>
      {onDismiss && (
        <button className="link" onClick={onDismiss} aria-label="Dismiss error">
          ×
        </button>
      )}
    </div>
  );
}

/** Runs an async call, remembering its error for display and a busy flag. */
export function useRunner() {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function run<T>(f: () => Promise<T>): Promise<T | undefined> {
    setError(null);
    setBusy(true);
    try {
      return await f();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }
  return { error, setError, busy, run };
}

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  state = { error: null as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  render() {
    if (this.state.error) {
      return (
        <div className="center-page">
          <div className="card">
            <h1>Something went wrong</h1>
            <ErrorNote error={this.state.error} />
            <button onClick={() => this.setState({ error: null })}>Try again</button>{" "}
            <button className="secondary" onClick={() => window.location.assign("/")}>
              Go to inbox
            </button>
          </div>
        </div>
      );
    }
    return this.props.children;
  }
}

// ---------- routing (pathname based; the server falls back to index.html) ----------

const routeListeners = new Set<() => void>();
window.addEventListener("popstate", () => routeListeners.forEach((l) => l()));

export function navigate(to: string, replace = false) {
  if (to === window.location.pathname + window.location.search) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  routeListeners.forEach((l) => l());
}

export function usePath(): string {
  return useSyncExternalStore(
    (cb) => {
      routeListeners.add(cb);
      return () => routeListeners.delete(cb);
    },
    () => window.location.pathname,
  );
}

export function Link(props: { to: string; className?: string; children: ReactNode; "aria-current"?: "page" | undefined; title?: string }) {
  const { to, children, ...rest } = props;
  return (
    <a
      href={to}
      {...rest}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

// ---------- connection state ----------

export function ConnectionBadge({ client }: { client: ConvexReactClient }) {
  const [state, setState] = useState(() => client.connectionState());
  useEffect(() => client.subscribeToConnectionState(setState), [client]);
  const connected = state.isWebSocketConnected;
  const label = connected ? "Connected" : state.hasEverConnected ? "Reconnecting…" : "Connecting…";
  return (
    <span className={"conn " + (connected ? "ok" : "bad")} role="status" aria-live="polite" data-testid="connection-state" title={`connections: ${state.connectionCount}`}>
      <span className="dot" aria-hidden="true" />
      {label}
    </span>
  );
}

// ---------- session (current user, workspace, role) ----------

export type Role = "owner" | "admin" | "agent" | "viewer";

const perms: Record<string, Role[]> = {
  "conversations.reply": ["owner", "admin", "agent"],
  "conversations.assign": ["owner", "admin", "agent"],
  "conversations.close": ["owner", "admin", "agent"],
  "users.invite": ["owner", "admin"],
  "users.manage": ["owner", "admin"],
  "users.remove": ["owner", "admin"],
  "snippets.manage": ["owner", "admin", "agent"],
  "checklists.manage": ["owner", "admin", "agent"],
  "settings.workspace": ["owner", "admin"],
  "settings.security": ["owner", "admin"],
  "audit.read": ["owner", "admin", "viewer"],
};

export type Session = {
  userId: string;
  email: string;
  name?: string;
  workspaceId: string;
  workspaceName: string;
  role: Role;
  workspaces: { _id: string; name: string; role: Role }[];
  can: (permission: string) => boolean;
  switchWorkspace: (id: string) => Promise<void>;
  signOut: () => Promise<void>;
};

export const SessionContext = createContext<Session | null>(null);
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("no session");
  return s;
}
export function roleCan(role: Role, permission: string): boolean {
  if (permission === "conversations.read" || permission === "users.read") return true;
  return (perms[permission] ?? []).includes(role);
}

// ---------- small helpers ----------

export function timeAgo(ms?: number): string {
  if (!ms) return "";
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 45) return "now";
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export function fmtTime(ms?: number): string {
  if (!ms) return "";
  return new Date(ms).toLocaleString();
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      {label}
    </div>
  );
}

/** Keeps a failing part of a screen (e.g. a query the server rejects) from blanking the page. */
export class Section extends Component<{ children: ReactNode; label?: string; quiet?: boolean }, { error: unknown }> {
  state = { error: null as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  render() {
    if (this.state.error) {
      if (this.props.quiet) return null;
      return (
        <div className="error" role="alert">
          <span>
            {this.props.label ? this.props.label + ": " : ""}
            {errorText(this.state.error)}
          </span>
          <button className="link" onClick={() => this.setState({ error: null })}>
            Retry
          </button>
        </div>
      );
    }
    return this.props.children;
  }
}

/** Like useQuery, but a server error comes back as an Error value instead of being thrown. */
export function useSafeQuery(ref: FunctionReference<"query">, args: Record<string, unknown> | "skip"): any {
  const key = args === "skip" ? null : JSON.stringify(args);
  const queries = useMemo(() => (args === "skip" ? {} : { q: { query: ref, args } }), [ref, key]); // eslint-disable-line react-hooks/exhaustive-deps
  const r = useQueries(queries as any);
  return args === "skip" ? undefined : r.q;
}
