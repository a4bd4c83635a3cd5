// End to end with the real convex client and real WebSockets: a visitor
// boots, opens a conversation and writes; an agent subscribed to
// conversations:list and messages:list sees it live and answers; the
// visitor sees the answer live; internal notes never reach the visitor
// (queries or channel events); the channel WebSocket's commands, events and
// error codes. Ends with the send → agent-update latency over 1,000 messages.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import os from "node:os";
import WebSocket from "ws";
import { ConvexClient } from "convex/browser";
import { startServer } from "../lib/server.mjs";

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

async function waitFor(fn, message, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let seq = 0;
async function makeAgent(url) {
  const client = new ConvexClient(url, { unsavedChangesWarning: false });
  const email = `inbox${Date.now()}${seq++}@example.com`;
  const res = await client.action("auth:signIn", { provider: "password", params: { email, password: "correct-horse-battery-9", flow: "signUp", name: "Ada Agent", workspaceName: "Acme" } });
  const token = res.tokens.token;
  client.setAuth(async () => token);
  const ws = await client.mutation("workspaces:getOrCreateDefault", {});
  const user = await client.query("auth:currentUser", {});
  return { client, token, workspaceId: typeof ws === "string" ? ws : ws._id, userId: (user.user ?? user)._id };
}

async function bootVisitor(url, workspaceId, name) {
  const client = new ConvexClient(url, { unsavedChangesWarning: false });
  const r = await client.mutation("widgetSessions:boot", { workspaceId, sessionId: `sess-${Date.now()}-${seq++}`, name, email: `${name.toLowerCase()}@visitor.test` });
  return { client, token: r.sessionToken, visitorId: r.visitor._id };
}

// Latest value of a subscription, plus a way to wait for a condition on it.
function watch(client, name, args) {
  const box = { value: undefined, updates: 0 };
  box.stop = client.onUpdate(name, args, (v) => { box.value = v; box.updates++; });
  box.until = async (pred, msg) => { await waitFor(() => box.value !== undefined && pred(box.value), msg); return box.value; };
  return box;
}

function openChannel(token) {
  const ws = new WebSocket(srv.url.replace("http", "ws") + "/ws?token=" + encodeURIComponent(token));
  const frames = [];
  ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
  const opened = new Promise((res, rej) => { ws.once("open", res); ws.once("error", rej); ws.once("unexpected-response", (_, r) => rej(new Error("HTTP " + r.statusCode))); });
  const send = (o) => ws.send(typeof o === "string" ? o : JSON.stringify(o));
  const next = (pred, msg) => waitFor(() => frames.find(pred), msg, 5000);
  return { ws, frames, opened, send, next, close: () => ws.close() };
}

test("visitor ↔ agent live, unread counters, internal notes, channel WebSocket, latency", async (t) => {
  const agent = await makeAgent(srv.url);
  const other = await makeAgent(srv.url); // a second workspace
  const visitor = await bootVisitor(srv.url, agent.workspaceId, "Vera");
  const stranger = await bootVisitor(srv.url, agent.workspaceId, "Sam");
  const sockets = [];
  t.after(async () => {
    for (const c of sockets) c.close();
    for (const c of [agent.client, other.client, visitor.client, stranger.client]) await c.close();
  });

  const inbox = watch(agent.client, "conversations:list", { workspaceId: agent.workspaceId });
  await inbox.until((v) => Array.isArray(v), "initial inbox");

  const conv = await visitor.client.mutation("conversations:createForVisitor", { workspaceId: agent.workspaceId, sessionToken: visitor.token });
  const vArgs = { conversationId: conv._id, sessionToken: visitor.token };
  const vMsgs = watch(visitor.client, "messages:list", vArgs);
  await vMsgs.until((m) => m.length === 1 && m[0].senderType === "bot", "welcome message");

  // Channels: the visitor on its conversation, the agent on the workspace.
  const vChan = openChannel(visitor.token);
  const aChan = openChannel(agent.token);
  sockets.push(vChan, aChan);
  await Promise.all([vChan.opened, aChan.opened]);
  vChan.send({ type: "subscribe", data: { channel: `conversation:${conv._id}` } });
  aChan.send({ type: "subscribe", data: { channel: `workspace:${agent.workspaceId}` } });
  await vChan.next((f) => f.type === "subscribed", "visitor subscribed");
  await aChan.next((f) => f.type === "subscribed", "agent subscribed");

  await visitor.client.mutation("messages:send", { ...vArgs, senderType: "visitor", senderId: visitor.visitorId, content: "My invoice is wrong" });
  const listed = await inbox.until((l) => l.some((c) => c._id === conv._id && c.unreadByAgent === 1), "conversation in agent inbox with unread 1");
  assert.equal(listed.find((c) => c._id === conv._id).lastMessagePreview, "My invoice is wrong");
  const aMsgs = watch(agent.client, "messages:list", { conversationId: conv._id });
  await aMsgs.until((m) => m.some((x) => x.content === "My invoice is wrong"), "agent sees visitor message");
  await aChan.next((f) => f.type === "chat_message" && f.data.content === "My invoice is wrong", "agent channel event");

  // Internal note first, then the reply.
  await agent.client.mutation("messages:send", { conversationId: conv._id, senderType: "agent", senderId: agent.userId, content: "SECRET: customer is VIP", isInternal: true });
  await agent.client.mutation("messages:send", { conversationId: conv._id, senderType: "agent", senderId: agent.userId, content: "Fixed it for you" });
  await vMsgs.until((m) => m.some((x) => x.content === "Fixed it for you"), "visitor sees the reply");
  await aMsgs.until((m) => m.some((x) => x.isInternal && x.content.startsWith("SECRET")), "agent sees the note");
  assert.ok(!vMsgs.value.some((x) => x.content.startsWith("SECRET")), "note leaked to visitor query");
  const reply = vMsgs.value.find((x) => x.content === "Fixed it for you");
  assert.equal(reply.senderName, "Ada Agent");
  await vChan.next((f) => f.type === "chat_message" && f.data.content === "Fixed it for you", "visitor channel reply");
  await aChan.next((f) => f.type === "chat_message" && f.data.is_internal === true, "agent channel note");
  assert.ok(!vChan.frames.some((f) => JSON.stringify(f).includes("SECRET")), "note leaked to visitor channel");

  // Unread counters: the visitor has one unread (the note does not count).
  const unread = watch(visitor.client, "conversations:getTotalUnreadForVisitor", { workspaceId: agent.workspaceId, sessionToken: visitor.token });
  await unread.until((n) => n === 1, "visitor unread 1");
  const mine = await visitor.client.query("conversations:listByVisitor", { workspaceId: agent.workspaceId, sessionToken: visitor.token });
  assert.equal(mine[0].lastMessage.content, "Fixed it for you");
  await visitor.client.mutation("conversations:markAsRead", { id: conv._id, readerType: "visitor", sessionToken: visitor.token });
  await unread.until((n) => n === 0, "visitor unread cleared");
  await agent.client.mutation("conversations:markAsRead", { id: conv._id, readerType: "agent" });
  await inbox.until((l) => l.find((c) => c._id === conv._id).unreadByAgent === 0, "agent unread cleared");
  const got = await agent.client.query("conversations:get", { id: conv._id });
  assert.ok(got.firstResponseAt >= got.createdAt, "first response time recorded");

  // Status change → status_update on both channels; visitor message reopens.
  await agent.client.mutation("conversations:updateStatus", { id: conv._id, status: "closed" });
  await vChan.next((f) => f.type === "status_update" && f.data.status === "closed", "visitor status event");
  await aChan.next((f) => f.type === "status_update" && f.data.entity_id === conv._id && f.data.status === "closed", "agent status event");
  await visitor.client.mutation("messages:send", { ...vArgs, senderType: "visitor", senderId: visitor.visitorId, content: "One more thing" });
  await inbox.until((l) => l.find((c) => c._id === conv._id).status === "open", "reopened by visitor");
  const events = await agent.client.query("conversations:listEvents", { id: conv._id });
  assert.deepEqual(events.map((e) => `${e.from}>${e.to}`), ["open>closed", "closed>open"]);

  // Channel commands and errors.
  vChan.send({ type: "ping", data: {} });
  await vChan.next((f) => f.type === "pong", "pong");
  vChan.send("not json");
  await vChan.next((f) => f.type === "error" && f.data.code === "invalid_request", "invalid_request");
  vChan.send({ type: "subscribe", data: { channel: `workspace:${agent.workspaceId}` } });
  await vChan.next((f) => f.type === "error" && f.data.code === "subscription_failed" && f.data.channel.startsWith("workspace:"), "visitor cannot watch the workspace");
  const strangerConv = await stranger.client.mutation("conversations:createForVisitor", { workspaceId: agent.workspaceId, sessionToken: stranger.token });
  vChan.send({ type: "subscribe", data: { channel: `conversation:${strangerConv._id}` } });
  await vChan.next((f) => f.type === "error" && f.data.code === "subscription_failed" && f.data.channel === `conversation:${strangerConv._id}`, "visitor cannot watch another conversation");
  const oChan = openChannel(other.token);
  sockets.push(oChan);
  await oChan.opened;
  oChan.send({ type: "subscribe", data: { channel: `workspace:${agent.workspaceId}` } });
  await oChan.next((f) => f.type === "error" && f.data.code === "subscription_failed", "other workspace refused");
  oChan.send({ type: "subscribe", data: { channel: `workspace:${other.workspaceId}` } });
  await oChan.next((f) => f.type === "subscribed", "own workspace ok");
  await assert.rejects(openChannel("not-a-token").opened, /HTTP 401/);
  await assert.rejects(openChannel("wst_" + "0".repeat(64)).opened, /HTTP 401/);

  // Unsubscribe: no further events on that channel.
  aChan.send({ type: "unsubscribe", data: { channel: `workspace:${agent.workspaceId}` } });
  await aChan.next((f) => f.type === "unsubscribed", "unsubscribed");
  const before = aChan.frames.length;
  await stranger.client.mutation("messages:send", { conversationId: strangerConv._id, sessionToken: stranger.token, senderType: "visitor", senderId: stranger.visitorId, content: "hello from stranger" });
  await inbox.until((l) => l.some((c) => c._id === strangerConv._id && c.unreadByAgent === 1), "stranger message committed");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(aChan.frames.length, before, "event after unsubscribe");
  assert.ok(!vChan.frames.some((f) => JSON.stringify(f).includes("hello from stranger")), "other conversation leaked to visitor");
  assert.ok(!oChan.frames.some((f) => f.type === "chat_message"), "event leaked across workspaces");

  // Public send refuses bot messages.
  await assert.rejects(agent.client.mutation("messages:send", { conversationId: conv._id, senderType: "bot", senderId: "system", content: "x" }), /bot messages/);

  // Latency: messages:send (visitor) → agent's messages:list update, sequential.
  const lconv = await visitor.client.mutation("conversations:createForVisitor", { workspaceId: agent.workspaceId, sessionToken: visitor.token });
  const N = Number(process.env.INBOX_LATENCY_N ?? 1000);
  const seen = new Map();
  let waiting = null;
  const stop = agent.client.onUpdate("messages:list", { conversationId: lconv._id }, (msgs) => {
    const last = msgs[msgs.length - 1];
    if (waiting && last && last.content === waiting.content) { waiting.resolve(performance.now()); waiting = null; }
  });
  await waitFor(async () => (await agent.client.query("messages:list", { conversationId: lconv._id })).length === 1, "latency conv ready");
  const lat = [];
  for (let i = 0; i < N; i++) {
    const content = `latency ${i}`;
    const p = new Promise((resolve) => { waiting = { content, resolve }; });
    const t0 = performance.now();
    await visitor.client.mutation("messages:send", { conversationId: lconv._id, sessionToken: visitor.token, senderType: "visitor", senderId: visitor.visitorId, content });
    lat.push((await p) - t0);
  }
  stop();
  lat.sort((a, b) => a - b);
  const pct = (q) => lat[Math.min(lat.length - 1, Math.floor(lat.length * q))];
  const summary = `send→agent update over ${N} messages: p50 ${pct(0.5).toFixed(1)} ms, p99 ${pct(0.99).toFixed(1)} ms, max ${lat[lat.length - 1].toFixed(1)} ms (${os.cpus().length} CPUs, ${os.cpus()[0]?.model})`;
  t.diagnostic(summary);
  console.log(summary);
  assert.equal(lat.length, N);
});
