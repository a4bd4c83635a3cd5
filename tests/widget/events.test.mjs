// Visitor events from the widget: with page-view tracking on (Opencom's
// data-opencom-track-page-views="true") the widget records a session_start
// and a page_view after booting and another page_view on every URL change
// of a single-page app (pushState, replaceState, hashchange, popstate);
// OpencomWidget.trackEvent records a manual event. Everything is checked
// through events:list, called as the workspace owner with the real convex
// HTTP client.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ConvexHttpClient } from "convex/browser";
import { setup, startHost, widgetReady, waitFor } from "./helpers.mjs";

let env, host, owner;

// A host page that installs its own history.pushState wrapper before the
// widget loads (as routers and analytics scripts do).
const page = ({ serverUrl, workspaceId, track }) => `<!doctype html><html><head><meta charset="utf-8"><title>Shop home</title>
<script>
  window.__hostPushes = 0;
  const orig = history.pushState;
  window.__hostPush = function () { window.__hostPushes++; return orig.apply(this, arguments); };
  history.pushState = window.__hostPush;
</script></head><body><h1>Shop</h1>
<script src="${serverUrl}/widget.js" data-opencom-convex-url="${serverUrl}" data-opencom-workspace-id="${workspaceId}"${
  track ? ' data-opencom-track-page-views="true"' : ""
}></script>
</body></html>`;

before(async () => {
  env = await setup();
  const args = { serverUrl: env.server.url, workspaceId: env.agent.workspaceId };
  host = await startHost({
    "/app": () => page({ ...args, track: true }),
    "/plain": () => page({ ...args, track: false }),
    "/favicon.ico": "", // no 404 in the console
  });
  owner = new ConvexHttpClient(env.server.url);
  owner.setAuth(env.agent.token);
});
after(async () => {
  await host?.close();
  await env?.teardown();
});

// The visitor's events, oldest first.
async function eventsOf(visitorId) {
  const list = await owner.query("events:list", { visitorId });
  return [...list].reverse();
}
const pageViews = async (visitorId) => (await eventsOf(visitorId)).filter((e) => e.eventType === "page_view");

function watchConsole(p) {
  const problems = [];
  p.on("pageerror", (e) => problems.push("pageerror: " + e));
  p.on("console", (m) => {
    if (m.type() === "warning" || m.type() === "error") problems.push(m.type() + ": " + m.text());
  });
  return problems;
}

test("page views on load and on SPA navigation, trackEvent, host pushState wrapper kept", async () => {
  const ctx = await env.browser.newContext();
  const p = await ctx.newPage();
  const problems = watchConsole(p);
  const first = host.url + "/app?from=ad";
  await p.goto(first);
  await widgetReady(p);
  const visitorId = await p.getAttribute("#opencom-widget", "data-visitor");
  assert.ok(visitorId);

  // On load: session_start (new session) and a page_view of the landing URL.
  let views = await waitFor(async () => ((await pageViews(visitorId)).length >= 1 ? pageViews(visitorId) : null), { message: "first page_view" });
  assert.equal(views.length, 1);
  assert.equal(views[0].name, "page_view");
  assert.equal(views[0].url, first);
  assert.equal(views[0].properties.title, "Shop home");
  assert.equal(views[0].visitorId, visitorId);
  assert.match(views[0].sessionId, /^session_[0-9a-f]{48}$/);
  const starts = (await eventsOf(visitorId)).filter((e) => e.eventType === "session_start");
  assert.equal(starts.length, 1, "one session_start for the new widget session");

  // pushState (through the host's own wrapper, which must still run).
  const pushed = await p.evaluate(() => {
    document.title = "Pricing";
    history.pushState({ page: "pricing" }, "", "/app/pricing");
    return { state: history.state, hostPushes: window.__hostPushes };
  });
  assert.deepEqual(pushed, { state: { page: "pricing" }, hostPushes: 1 });
  views = await waitFor(async () => ((await pageViews(visitorId)).length >= 2 ? pageViews(visitorId) : null), { message: "page_view after pushState" });
  assert.equal(views.length, 2);
  assert.equal(views[1].url, host.url + "/app/pricing");
  assert.equal(views[1].properties.title, "Pricing");
  assert.equal(views[1].properties.referrer, first, "an in-app navigation's referrer is the previous page");

  // replaceState to the same URL is not a new page view; a new hash is.
  await p.evaluate(() => history.replaceState({ page: "pricing", v: 2 }, ""));
  await p.evaluate(() => (location.hash = "#faq"));
  views = await waitFor(async () => ((await pageViews(visitorId)).length >= 3 ? pageViews(visitorId) : null), { message: "page_view after hashchange" });
  assert.equal(views[2].url, host.url + "/app/pricing#faq");

  // Back (popstate) to the landing URL.
  await p.evaluate(() => history.go(-2));
  views = await waitFor(async () => ((await pageViews(visitorId)).length >= 4 ? pageViews(visitorId) : null), { message: "page_view after popstate" });
  assert.equal(views[3].url, first);
  assert.deepEqual(views.map((v) => v.url), [first, host.url + "/app/pricing", host.url + "/app/pricing#faq", first]);

  // trackEvent → a manual event with the current URL; unsupported property
  // values are dropped rather than failing the call.
  const id = await p.evaluate(() => window.OpencomWidget.trackEvent("clicked_upgrade", { plan: "pro", seats: 3, trial: false, tags: ["a", 1], nested: { no: 1 } }));
  assert.equal(typeof id, "string");
  const manual = (await eventsOf(visitorId)).filter((e) => e.name === "clicked_upgrade");
  assert.equal(manual.length, 1);
  assert.equal(manual[0]._id, id);
  assert.equal(manual[0].eventType, "manual");
  assert.equal(manual[0].url, first);
  assert.deepEqual(manual[0].properties, { plan: "pro", seats: 3, trial: false, tags: ["a", 1] });
  assert.deepEqual(await owner.query("events:getDistinctNames", { workspaceId: env.agent.workspaceId }), ["clicked_upgrade", "page_view", "session_start"]);
  assert.equal(await owner.query("events:count", { visitorId, name: "page_view", withinDays: 1 }), 4);

  // destroy() hands pushState back to the host's wrapper; navigation then
  // records nothing.
  assert.equal(await p.evaluate(() => window.OpencomWidget.destroy().then(() => history.pushState === window.__hostPush)), true);
  await p.evaluate(() => history.pushState({}, "", "/app/after-destroy"));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await pageViews(visitorId)).length, 4);

  // A reload reuses the stored session: a page_view, no second session_start.
  await p.goto(host.url + "/app?reloaded=1");
  await widgetReady(p);
  assert.equal(await p.getAttribute("#opencom-widget", "data-visitor"), visitorId);
  await waitFor(async () => (await pageViews(visitorId)).some((v) => v.url === host.url + "/app?reloaded=1"), { message: "page_view after reload" });
  assert.equal((await eventsOf(visitorId)).filter((e) => e.eventType === "session_start").length, 1);

  assert.deepEqual(problems, []);
  await ctx.close();
});

test("without track-page-views no page views are recorded, trackEvent still works", async () => {
  const ctx = await env.browser.newContext();
  const p = await ctx.newPage();
  const problems = watchConsole(p);
  await p.goto(host.url + "/plain");
  await widgetReady(p);
  const visitorId = await p.getAttribute("#opencom-widget", "data-visitor");
  await p.evaluate(() => history.pushState({}, "", "/plain/next"));
  const id = await p.evaluate(() => window.OpencomWidget.trackEvent("signed_up"));
  assert.equal(typeof id, "string");
  await new Promise((r) => setTimeout(r, 300));
  const events = await eventsOf(visitorId);
  assert.deepEqual(events.map((e) => [e.name, e.eventType, e.url]), [["signed_up", "manual", host.url + "/plain/next"]]);
  // The widget left the host's pushState alone.
  assert.equal(await p.evaluate(() => history.pushState === window.__hostPush), true);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("the visitor's own events are readable with its session; another visitor's are not", async () => {
  const ctxA = await env.browser.newContext();
  const ctxB = await env.browser.newContext();
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  await a.goto(host.url + "/app");
  await b.goto(host.url + "/app");
  await widgetReady(a);
  await widgetReady(b);
  const visitorA = await a.getAttribute("#opencom-widget", "data-visitor");
  await waitFor(async () => (await pageViews(visitorA)).length >= 1, { message: "visitor A's page_view" });
  const session = (p) => p.evaluate((ws) => JSON.parse(localStorage.getItem("opencom_widget_session:" + ws)), env.agent.workspaceId);
  const tokA = (await session(a)).token;
  const tokB = (await session(b)).token;
  const anon = new ConvexHttpClient(env.server.url);
  const workspaceId = env.agent.workspaceId;
  const own = await anon.query("events:list", { visitorId: visitorA, sessionToken: tokA, workspaceId });
  assert.ok(own.length >= 1 && own.every((e) => e.visitorId === visitorA));
  assert.deepEqual(await anon.query("events:list", { visitorId: visitorA, sessionToken: tokB, workspaceId }), []);
  assert.equal(await anon.query("events:count", { visitorId: visitorA, name: "page_view", sessionToken: tokB, workspaceId }), 0);
  // A bare visitorId of a visitor with a session cannot write events.
  await assert.rejects(anon.mutation("events:track", { workspaceId, visitorId: visitorA, name: "forged" }), /Session token required/);
  await ctxA.close();
  await ctxB.close();
});
