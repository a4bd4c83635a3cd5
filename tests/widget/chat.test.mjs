// A visitor chats through the embedded widget on a host page served from
// another origin; an agent replies over the real convex client; the reply
// arrives live; a reload keeps the conversation (session token reused).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, startHost, hostPage, widgetReady, waitFor, shot, W } from "./helpers.mjs";

let env, host;
before(async () => {
  env = await setup();
  host = await startHost({ "/": () => hostPage({ serverUrl: env.server.url, workspaceId: env.agent.workspaceId }) });
});
after(async () => {
  await host?.close();
  await env?.teardown();
});

test("loads from the script tag, chats live with an agent, and survives a reload", async () => {
  const { agent } = env;
  const page = await env.browser.newPage({ viewport: { width: 1000, height: 760 } });
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "warning" || m.type() === "error") console.log("[page]", m.text()); });
  await page.goto(host.url + "/");
  assert.notEqual(new URL(host.url).origin, new URL(env.server.url).origin, "host page must be cross-origin");

  await widgetReady(page);
  // The loader fetched the lazily loaded bundle from /widget/<hashed file>.
  assert.ok(requests.some((u) => u === env.server.url + "/widget.js"), "widget.js loaded");
  assert.ok(requests.some((u) => u.startsWith(env.server.url + "/widget/app-")), "bundle loaded lazily from /widget/");
  // Only the configured server (and the host page itself) are contacted.
  for (const u of requests) {
    const o = new URL(u).origin;
    assert.ok(o === env.server.url || o === host.url, "unexpected request to " + u);
  }
  assert.equal(await page.evaluate(() => typeof window.OpencomWidget?.identify), "function");
  assert.equal(await page.evaluate(() => !!document.getElementById("opencom-widget").shadowRoot), true);
  await shot(page, "chat-1-launcher");

  // Keyboard: focus the launcher, open with Enter.
  await page.focus(W(".launcher"));
  await page.keyboard.press("Enter");
  await page.waitForSelector(W(".panel"), { state: "visible" });
  assert.equal(await page.getAttribute(W(".launcher"), "aria-expanded"), "true");
  await page.click(W("button.primary"));
  await page.waitForSelector(W(".composer textarea"), { state: "visible" });
  await page.fill(W(".composer textarea"), "Hello, I need help with my order");
  await page.keyboard.press("Enter");

  // Sent: the bubble is confirmed by the server (no longer pending).
  await page.waitForSelector(W('.msg.me[data-message] .bubble'), { timeout: 15000 });
  assert.equal(await page.textContent(W(".msg.me[data-message] .bubble")), "Hello, I need help with my order");
  await waitFor(async () => (await page.$$(W("[data-pending]"))).length === 0, { message: "no pending bubbles" });

  // The agent sees the conversation and the message.
  const convs = await waitFor(async () => {
    const r = await agent.client.query("conversations:list", { workspaceId: agent.workspaceId });
    const list = Array.isArray(r) ? r : r.page;
    return list.length ? list : null;
  }, { message: "conversation visible to the agent" });
  const conversationId = convs[0]._id;
  const msgs = await agent.client.query("messages:list", { conversationId });
  assert.deepEqual(
    (Array.isArray(msgs) ? msgs : msgs.page).filter((m) => m.senderType !== "bot").map((m) => [m.senderType, m.content]),
    [["visitor", "Hello, I need help with my order"]],
  );

  // Agent typing shows up live.
  await agent.client.mutation("typing:set", { conversationId, isTyping: true });
  await page.waitForSelector(W("[data-typing]"), { timeout: 10000 });
  assert.match(await page.textContent(W("[data-typing]")), /is typing/);
  await shot(page, "chat-2-typing");

  // The agent replies; the widget shows it without a reload.
  await agent.client.mutation("messages:send", {
    conversationId,
    senderType: "agent",
    senderId: agent.userId,
    content: "Hi! Happy to help. What's the order number?",
  });
  await agent.client.mutation("typing:set", { conversationId, isTyping: false });
  await page.waitForSelector(W('.msg[data-sender="agent"] .bubble'), { timeout: 10000 });
  assert.equal(await page.textContent(W('.msg[data-sender="agent"] .bubble')), "Hi! Happy to help. What's the order number?");
  await waitFor(async () => (await page.$$(W("[data-typing]"))).length === 0, { message: "typing indicator gone" });
  // Reading the open conversation marks the reply read.
  await page.waitForSelector('#opencom-widget[data-unread="0"]', { state: "attached", timeout: 10000 });
  await shot(page, "chat-3-reply");

  // Reload: the stored session token is reused (no new boot) and the
  // conversation is still there.
  const before = await page.evaluate((ws) => JSON.parse(localStorage.getItem("opencom_widget_session:" + ws)), agent.workspaceId);
  assert.match(before.token, /^wst_[0-9a-f]{64}$/);
  const visitorId = await page.getAttribute("#opencom-widget", "data-visitor");
  await page.reload();
  await widgetReady(page);
  const after = await page.evaluate((ws) => JSON.parse(localStorage.getItem("opencom_widget_session:" + ws)), agent.workspaceId);
  assert.equal(after.token, before.token, "session token reused across reloads");
  assert.equal(await page.getAttribute("#opencom-widget", "data-visitor"), visitorId);

  // Unread badge: with the panel closed, a new agent message raises it.
  await agent.client.mutation("messages:send", { conversationId, senderType: "agent", senderId: agent.userId, content: "Are you still there?" });
  await page.waitForSelector(W(".badge:not([hidden])"), { timeout: 10000 });
  assert.equal((await page.textContent(W(".badge"))).trim(), "1");
  await shot(page, "chat-4-unread-badge");

  await page.click(W(".launcher"));
  await page.waitForSelector(W(`button.conv[data-conversation="${conversationId}"]`));
  await shot(page, "chat-5-list-after-reload");
  await page.click(W(`button.conv[data-conversation="${conversationId}"]`));
  await waitFor(async () => (await page.$$(W('.msg[data-message]:not([data-sender="bot"])'))).length === 3, { message: "3 messages after reload" });
  const texts = await page.$$eval(W('.msg[data-message]:not([data-sender="bot"]) .bubble'), (els) => els.map((e) => e.textContent));
  assert.deepEqual(texts, ["Hello, I need help with my order", "Hi! Happy to help. What's the order number?", "Are you still there?"]);
  // Opening the conversation marks it read: the badge goes away.
  await page.waitForSelector(W(".badge[hidden]"), { state: "attached", timeout: 10000 });

  // Escape closes the panel and gives focus back to the launcher.
  await page.focus(W(".composer textarea"));
  await page.keyboard.press("Escape");
  await page.waitForSelector(W(".panel"), { state: "hidden" });
  assert.equal(await page.evaluate(() => document.getElementById("opencom-widget").shadowRoot.activeElement?.className), "launcher");
  assert.deepEqual(errors, []);

  // Another visitor (fresh browser profile) sees none of this.
  const ctx2 = await env.browser.newContext({ viewport: { width: 1000, height: 760 } });
  const other = await ctx2.newPage();
  await other.goto(host.url + "/");
  await widgetReady(other);
  assert.notEqual(await other.getAttribute("#opencom-widget", "data-visitor"), visitorId);
  await other.click(W(".launcher"));
  await other.waitForSelector(W("button.primary"));
  assert.equal((await other.$$(W("button.conv"))).length, 0);
  assert.equal(await other.getAttribute("#opencom-widget", "data-unread"), "0");
  // Even asking the server directly with its own token for the first
  // visitor's conversation gets nothing.
  const stolen = await other.evaluate(async ([url, ws, conversationId, victim]) => {
    const s = JSON.parse(localStorage.getItem("opencom_widget_session:" + ws));
    const q = async (path, args) => {
      const r = await fetch(url + "/api/query", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ path, args, format: "json" }) });
      return r.json();
    };
    return {
      messages: await q("messages:list", { conversationId, sessionToken: s.token }),
      asVictim: await q("conversations:listByVisitor", { workspaceId: ws, visitorId: victim, sessionToken: s.token }),
    };
  }, [env.server.url, agent.workspaceId, conversationId, visitorId]);
  const leaked = (r) => r.status === "success" && JSON.stringify(r.value).includes("order");
  assert.ok(!leaked(stolen.messages), "other visitor read the conversation: " + JSON.stringify(stolen.messages));
  assert.ok(!leaked(stolen.asVictim) && !(stolen.asVictim.status === "success" && stolen.asVictim.value.length), "other visitor listed the victim's conversations");
  await ctx2.close();
  await page.close();
});
