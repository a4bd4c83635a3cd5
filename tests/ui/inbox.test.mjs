// The live inbox in real Chromium against a real server: a visitor (real
// convex client) writes and the open inbox shows it without a reload; the
// agent's reply reaches the visitor's subscription; typing both ways;
// snippets with "/"; closing moves a conversation between filters; a
// viewer (signed up by invitation) gets no compose box.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { launchBrowser, makeVisitor, shot, signInUI, signUp, waitFor, PASSWORD } from "./helpers.mjs";

let server, browser, owner, page;
const visitors = [];
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await signUp(server.url, { email: "owner@example.com", name: "Olivia Owner", workspaceName: "Acme Support" });
  page = await signInUI(browser, server.url, owner.email);
});
after(async () => {
  for (const v of visitors) await v.client.close().catch(() => {});
  await owner?.client.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
});

const row = (p, conversationId) => p.locator(`li.conv-row[data-conversation-id="${conversationId}"]`);

test("a visitor message appears in the open inbox without reload within 2 s", async () => {
  await page.getByText("No open conversations.").waitFor();
  const v = await makeVisitor(server.url, owner.workspaceId, { name: "Vera Visitor" });
  visitors.push(v);
  const t0 = Date.now();
  await v.send("Hello, my parcel never arrived");
  await row(page, v.conversationId).getByText("Hello, my parcel never arrived").waitFor({ timeout: 2000 });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 2000, `shown after ${elapsed} ms`);
  assert.equal(await row(page, v.conversationId).getByTestId("unread-badge").textContent(), "1");
  assert.match(await row(page, v.conversationId).textContent(), /Vera Visitor/);
  // Still the same document: no navigation happened.
  assert.equal(await page.evaluate(() => performance.getEntriesByType("navigation").length), 1);
  await shot(page, "inbox-1-live-message");

  // A second message in the same conversation updates the preview and the badge live.
  await v.send("Order #4411");
  await waitFor(async () => (await row(page, v.conversationId).getByTestId("unread-badge").textContent()) === "2", { timeout: 2000, message: "badge 2" });
});

test("the agent's reply reaches the visitor's subscription; typing shows both ways", async () => {
  const v = visitors[0];
  const seen = [];
  const unsubscribe = v.client.onUpdate("messages:list", { conversationId: v.conversationId, sessionToken: v.sessionToken }, (msgs) => seen.push(msgs));
  const agentTyping = [];
  const unsubTyping = v.client.onUpdate("typing:get", { conversationId: v.conversationId, sessionToken: v.sessionToken }, (t) => agentTyping.push(t));

  await row(page, v.conversationId).locator("a").click();
  await page.getByRole("log", { name: "Messages" }).getByText("Order #4411").waitFor();
  // Opening marks it read: the badge goes away.
  await waitFor(async () => (await row(page, v.conversationId).getByTestId("unread-badge").count()) === 0, { message: "badge cleared" });
  // Visitor details in the sidebar.
  const details = page.getByTestId("visitor-details");
  await details.waitFor();
  assert.match(await details.textContent(), /Vera Visitor/);
  assert.match(await details.textContent(), /plan\s*pro/);
  assert.match(await details.textContent(), /seats\s*12/);
  assert.match(await details.textContent(), /Anonymous/);

  // Visitor typing → the agent sees it.
  await v.client.mutation("typing:set", { conversationId: v.conversationId, isTyping: true, sessionToken: v.sessionToken });
  await page.getByTestId("visitor-typing").waitFor({ timeout: 5000 });
  assert.match(await page.getByTestId("visitor-typing").textContent(), /Vera Visitor is typing/);
  await shot(page, "inbox-2-visitor-typing");

  // Agent types (keyboard shortcut r focuses the reply box) → the visitor sees it.
  await page.locator("body").click({ position: { x: 700, y: 300 } });
  await page.keyboard.press("r");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "compose-box");
  await page.keyboard.type("Sorry about that, checking now.");
  await waitFor(() => agentTyping.some((list) => list.some((t) => t.userType === "agent")), { timeout: 5000, message: "visitor sees agent typing" });

  const t0 = Date.now();
  await page.keyboard.press("Enter");
  const reply = await waitFor(
    () => seen.flat().find((m) => m.senderType === "agent" && m.content === "Sorry about that, checking now."),
    { timeout: 5000, message: "agent reply in the visitor subscription" },
  );
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(reply.senderId, owner.userId);
  await waitFor(async () => (await page.getByRole("textbox", { name: "Reply" }).inputValue()) === "", { message: "reply box cleared" });
  await page.getByRole("log", { name: "Messages" }).getByText("Sorry about that, checking now.").waitFor();

  // An internal note stays internal: the visitor's subscription never gets it.
  await page.getByRole("button", { name: "Internal note" }).click();
  await page.getByRole("textbox", { name: "Internal note" }).fill("Customer is a VIP");
  await page.getByRole("button", { name: "Add note" }).click();
  await page.getByRole("log", { name: "Messages" }).getByText("Customer is a VIP").waitFor();
  await page.getByRole("button", { name: "Reply", exact: true }).click();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!seen.flat().some((m) => m.content === "Customer is a VIP"), "note leaked to visitor");
  await shot(page, "inbox-3-reply-and-note");
  unsubscribe();
  unsubTyping();
});

test("typing / in the compose box inserts a snippet", async () => {
  const v = visitors[0];
  await owner.client.mutation("snippets:create", {
    workspaceId: owner.workspaceId,
    name: "Refund policy",
    shortcut: "refund",
    content: "You can get a full refund within 30 days.",
  });
  await owner.client.mutation("snippets:create", { workspaceId: owner.workspaceId, name: "Greeting", shortcut: "hello", content: "Hi there!" });
  const box = page.getByRole("textbox", { name: "Reply" });
  await box.click();
  await box.fill("");
  await page.keyboard.type("/ref");
  const picker = page.getByRole("listbox", { name: "Snippets" });
  await picker.waitFor({ timeout: 5000 });
  assert.equal(await picker.getByRole("option").count(), 1);
  assert.match(await picker.getByRole("option").first().textContent(), /\/refund/);
  await shot(page, "inbox-4-snippet-picker");
  await page.keyboard.press("Enter");
  assert.equal(await box.inputValue(), "You can get a full refund within 30 days.");
  assert.equal(await picker.count(), 0);
  await page.keyboard.press("Enter");
  await page.getByRole("log", { name: "Messages" }).getByText("You can get a full refund within 30 days.").waitFor();
  const msgs = await v.client.query("messages:list", { conversationId: v.conversationId, sessionToken: v.sessionToken });
  assert.ok(msgs.some((m) => m.content === "You can get a full refund within 30 days." && m.senderType === "agent"));
});

test("closing a conversation moves it from Open to Closed, reopening moves it back", async () => {
  const v = visitors[0];
  const tab = (name) => page.getByRole("tab", { name });
  assert.equal(await tab("Open").getAttribute("aria-selected"), "true");
  await row(page, v.conversationId).waitFor();
  await page.getByRole("button", { name: "Close", exact: true }).click();
  await page.getByTestId("conversation-status").filter({ hasText: "closed" }).waitFor();
  await row(page, v.conversationId).waitFor({ state: "detached", timeout: 5000 });
  await page.getByText("No open conversations.").waitFor();
  const conv = await owner.client.query("conversations:get", { id: v.conversationId });
  assert.equal(conv.status, "closed");

  await tab("Closed").click();
  await row(page, v.conversationId).waitFor({ timeout: 5000 });
  await shot(page, "inbox-5-closed-filter");

  await page.getByRole("button", { name: "Reopen" }).click();
  await row(page, v.conversationId).waitFor({ state: "detached", timeout: 5000 });
  await tab("Open").click();
  await row(page, v.conversationId).waitFor({ timeout: 5000 });

  // Keyboard shortcut e closes the selected conversation too.
  await page.locator("body").click({ position: { x: 700, y: 150 } });
  await page.keyboard.press("e");
  await row(page, v.conversationId).waitFor({ state: "detached", timeout: 5000 });
  assert.equal((await owner.client.query("conversations:get", { id: v.conversationId })).status, "closed");
  assert.deepEqual(page.errors, []);
});

test("a viewer who signed up by invitation cannot see the compose box", async () => {
  const v = await makeVisitor(server.url, owner.workspaceId, { name: "Walter Watcher" });
  visitors.push(v);
  await v.send("Is anyone there?");
  const invited = await owner.client.action("workspaceMembers:inviteToWorkspace", {
    workspaceId: owner.workspaceId,
    email: "viewer@example.com",
    role: "viewer",
    baseUrl: server.url,
  });
  assert.equal(invited.status, "invited");

  const vp = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  vp.on("pageerror", (e) => errors.push(String(e)));
  await vp.goto(server.url + "/invite/accept?email=viewer%40example.com");
  await vp.getByRole("heading", { name: "Create your account" }).waitFor({ timeout: 15000 });
  assert.equal(await vp.getByLabel("Email").inputValue(), "viewer@example.com");
  await vp.getByLabel("Your name").fill("Victor Viewer");
  await vp.getByLabel("Password").fill(PASSWORD);
  await vp.getByRole("button", { name: "Create account" }).click();
  await vp.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15000 });
  assert.equal(await vp.getByTestId("role").textContent(), "viewer");
  assert.match(await vp.getByLabel("Workspace").locator("option:checked").textContent(), /Acme Support/);

  await row(vp, v.conversationId).locator("a").click();
  await vp.getByRole("log", { name: "Messages" }).getByText("Is anyone there?").waitFor();
  await vp.getByText("You have read-only access to this conversation.").waitFor();
  assert.equal(await vp.locator("#compose-box").count(), 0);
  assert.equal(await vp.getByRole("textbox", { name: "Reply" }).count(), 0);
  assert.equal(await vp.getByRole("button", { name: "Close", exact: true }).count(), 0);
  // The server agrees: a viewer's send is refused with a permission error.
  await shot(vp, "inbox-6-viewer-readonly");
  assert.deepEqual(errors, []);
  await vp.close();
});
