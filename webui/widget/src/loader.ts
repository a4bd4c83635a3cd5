// widget.js: the only file a customer's page loads directly. It defines
// window.OpencomWidget at once (calls made before the messenger arrives are
// queued), works out its configuration and base URL from its own <script>
// tag, and injects the messenger bundle from <base>/widget/<hashed file>.
declare const __APP_FILE__: string;

type Settings = { convexUrl?: string; workspaceId?: string; trackPageViews?: boolean; user?: Record<string, unknown> };
type Call = { m: string; a: unknown[]; ok: (v: unknown) => void; ko: (e: unknown) => void };

(function () {
  const w = window as any;
  if (w.OpencomWidget && w.OpencomWidget.__loader) return;

  const findScript = (): HTMLScriptElement | null => {
    const cur = document.currentScript as HTMLScriptElement | null;
    if (cur && cur.src) return cur;
    const all = document.querySelectorAll<HTMLScriptElement>("script[src]");
    for (let i = all.length - 1; i >= 0; i--) if (/\/widget\.js(\?|#|$)/.test(all[i].src)) return all[i];
    return null;
  };
  const script = findScript();
  const src = script ? script.src : location.href;
  const base = new URL("widget/", src).href;

  const bool = (v: string | undefined) =>
    v === undefined ? undefined : !/^(0|false|no|off)$/i.test(v.trim());

  const fromScript = (): Settings => {
    const d = (script && script.dataset) || ({} as DOMStringMap);
    const s: Settings = {};
    if (d.opencomConvexUrl) s.convexUrl = d.opencomConvexUrl.trim();
    if (d.opencomWorkspaceId) s.workspaceId = d.opencomWorkspaceId.trim();
    const t = bool(d.opencomTrackPageViews);
    if (t !== undefined) s.trackPageViews = t;
    return s;
  };

  // window.opencomSettings takes precedence over the script tag's data-*.
  const resolve = (extra?: Settings): Settings => {
    const g = w.opencomSettings && typeof w.opencomSettings === "object" ? w.opencomSettings : {};
    const s: Settings = { ...fromScript() };
    for (const src of [g, extra || {}]) {
      for (const k of ["convexUrl", "workspaceId", "trackPageViews", "user"] as const) {
        const v = (src as any)[k];
        if (v !== undefined && v !== null && v !== "") (s as any)[k] = typeof v === "string" ? v.trim() : v;
      }
    }
    return s;
  };

  let app: any = null;
  let loading: Promise<any> | null = null;
  const queue: Call[] = [];

  const load = (): Promise<any> => {
    if (loading) return loading;
    loading = new Promise((ok, ko) => {
      const el = document.createElement("script");
      el.src = base + __APP_FILE__;
      el.async = true;
      el.onload = () => {
        app = w.__opencomWidgetApp;
        if (app) ok(app);
        else ko(new Error("opencom widget: bundle did not register"));
      };
      el.onerror = () => {
        loading = null;
        ko(new Error("opencom widget: could not load " + el.src));
      };
      (document.head || document.documentElement).appendChild(el);
    });
    loading.then(
      (a) => {
        for (const c of queue.splice(0)) {
          try {
            Promise.resolve(a[c.m](...c.a)).then(c.ok, c.ko);
          } catch (e) {
            c.ko(e);
          }
        }
      },
      (e) => {
        console.error(e);
        for (const c of queue.splice(0)) c.ko(e);
      },
    );
    return loading;
  };

  const call = (m: string, a: unknown[]): Promise<unknown> => {
    if (app) {
      try {
        return Promise.resolve(app[m](...a));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return new Promise((ok, ko) => {
      queue.push({ m, a, ok, ko });
      if (m === "init") load();
    });
  };

  const init = (settings?: Settings) => {
    const s = resolve(settings);
    if (!s.workspaceId) return Promise.reject(new Error("opencom widget: workspaceId is required"));
    // Default to the server that served this script: the widget talks to
    // one configured server only.
    if (!s.convexUrl) s.convexUrl = new URL(src).origin;
    return call("init", [s, base]);
  };

  const api = {
    __loader: true,
    init,
    identify: (user: unknown) => call("identify", [user]),
    open: () => call("open", []),
    close: () => call("close", []),
    destroy: () => call("destroy", []),
    trackEvent: (name: string, data?: unknown) => call("trackEvent", [name, data]),
  };
  w.OpencomWidget = api;

  const auto = resolve();
  if (auto.workspaceId) {
    const start = () => {
      init().catch((e) => console.error("[Opencom Widget]", e));
    };
    if (document.body) start();
    else document.addEventListener("DOMContentLoaded", start);
  }
})();
