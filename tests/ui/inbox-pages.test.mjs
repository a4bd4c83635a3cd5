// The inbox list beyond the first page, in real Chromium against a real
// server: 130 open conversations (seeded through the widget API on the real
// convex client) show as 100 plus "Load more conversations" for the rest;
// the loaded pages stay live, never show a conversation twice, and the
// filters, j/k, bulk selection and the status tabs work across them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { launchBrowser, makeVisitor, shot, signInUI, signUp, waitFor } from "./helpers.mjs";

const TOTAL = 130;
let server, browser, owner, page, v;
let firstPage, secondPage; // conversation ids in the server's order
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await signUp(server.url, { email: "owner@example.com", name: "Olivia Owner", workspaceName: "Acme Support" });
  // One visitor opens all the conversations: one boot, then TOTAL-1 more
  // createForVisitor mutations sent together (the client pipelines them).
  v = await makeVisitor(server.url, owner.workspaceId, { name: "Pat Pager" });
  await Promise.all(
    Array.from({ length: TOTAL - 1 }, () => v.client.mutation("conversations:createForVisitor", { workspaceId: owner.workspaceId, sessionToken: v.sessionToken })),
  );
  const args = { workspaceId: owner.workspaceId, status: "open", limit: 100 };
  const p1 = await owner.client.query("conversations:listForInbox", args);
  assert.ok(p1.nextCursor, "the server reports a second page");
  const p2 = await owner.client.query("conversations:listForInbox", { ...args, cursor: p1.nextCursor });
  assert.equal(p2.nextCursor, null);
  firstPage = p1.conversations.map((c) => c._id);
  secondPage = p2.conversations.map((c) => c._id);
  assert.equal(firstPage.length, 100);
  assert.equal(secondPage.length, TOTAL - 100);
  page = await signInUI(browser, server.url, owner.email);
});
after(async () => {
  await v?.client.close().catch(() => {});
  await owner?.client.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
});

const rowIds = (p) => p.$$eval("li.conv-row", (els) => els.map((e) => e.dataset.conversationId));
const row = (p, id) => p.locator(`li.conv-row[data-conversation-id="${id}"]`);
const loadMore = (p) => p.getByRole("button", { name: "Load more conversations" });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the list shows exactly `n` distinct rows and returns their ids. */
async function rowsSettle(n, message) {
  return waitFor(
    async () => {
      const ids = await rowIds(page);
      return ids.length === n && new Set(ids).size === n && ids;
    },
    { timeout: 10000, message },
  );
}

test("the first page shows 100 conversations and a Load more button", async () => {
  await loadMore(page).waitFor({ timeout: 15000 });
  const ids = await rowsSettle(100, "100 rows");
  assert.deepEqual(ids, firstPage);
  await sleep(300);
  assert.equal((await rowIds(page)).length, 100, "nothing beyond the first page before Load more");
  await loadMore(page).scrollIntoViewIfNeeded();
  await shot(page, "inbox-pages-1-first-page");
});

test("Load more appends the rest, with no duplicates, and the button goes away", async () => {
  await loadMore(page).click();
  const ids = await rowsSettle(TOTAL, `${TOTAL} rows`);
  assert.deepEqual(ids, [...firstPage, ...secondPage]);
  await loadMore(page).waitFor({ state: "detached", timeout: 5000 });
  assert.equal(await page.getByRole("button", { name: "Loading…" }).count(), 0);
  await shot(page, "inbox-pages-2-all-loaded");
});

test("a new message on a conversation from the second page updates it live, once", async () => {
  const target = secondPage[10];
  await v.client.mutation("messages:send", {
    conversationId: target,
    senderType: "visitor",
    senderId: v.visitorId,
    content: "Still waiting on page two",
    sessionToken: v.sessionToken,
  });
  await row(page, target).getByText("Still waiting on page two").waitFor({ timeout: 3000 });
  assert.equal(await row(page, target).getByTestId("unread-badge").textContent(), "1");
  // It is now the newest: first in the list, shown once, and the boundary
  // between the pages moved without losing or repeating anything.
  const ids = await waitFor(
    async () => {
      const ids = await rowIds(page);
      return ids.length === TOTAL && new Set(ids).size === TOTAL && ids[0] === target && ids;
    },
    { timeout: 10000, message: "target first, all rows once" },
  );
  assert.deepEqual(new Set(ids), new Set([...firstPage, ...secondPage]));
  assert.equal(await row(page, target).count(), 1);
  assert.equal(await loadMore(page).count(), 0);

  // A change that does not reorder (an assignment) also reaches a second-page row,
  // and the assignee filter sees it.
  const assigned = secondPage[20];
  await owner.client.mutation("conversations:assign", { id: assigned, agentId: owner.userId });
  await page.getByLabel("Assignee filter").selectOption("mine");
  const mine = await rowsSettle(1, "only the assigned conversation");
  assert.deepEqual(mine, [assigned]);
  await page.getByLabel("Assignee filter").selectOption("unassigned");
  await rowsSettle(TOTAL - 1, "all but the assigned one");
  assert.equal(await row(page, assigned).count(), 0);
  await page.getByLabel("Assignee filter").selectOption("all");
  await rowsSettle(TOTAL, "everyone again");
});

test("j/k and bulk selection work across the loaded pages", async () => {
  const ids = await rowIds(page);
  // Select the last row of the first hundred, then j moves into the second page.
  await row(page, ids[99]).locator("a").click();
  await waitFor(() => new URL(page.url()).pathname === `/inbox/${ids[99]}`, { message: "row 100 selected" });
  await page.locator("body").click({ position: { x: 700, y: 300 } });
  await page.keyboard.press("j");
  await waitFor(() => new URL(page.url()).pathname === `/inbox/${ids[100]}`, { message: "j to row 101" });
  assert.equal(await row(page, ids[100]).locator("a").getAttribute("aria-current"), "page");
  assert.ok(await row(page, ids[100]).isVisible());
  await page.keyboard.press("k");
  await waitFor(() => new URL(page.url()).pathname === `/inbox/${ids[99]}`, { message: "k back to row 100" });

  // Bulk-close one conversation from each page.
  const a = ids[5], b = ids[TOTAL - 3];
  await row(page, a).getByRole("checkbox").check();
  await row(page, b).getByRole("checkbox").check();
  const bar = page.getByRole("toolbar", { name: "Bulk actions" });
  assert.match(await bar.textContent(), /2 selected/);
  await bar.getByRole("button", { name: "Close", exact: true }).click();
  await rowsSettle(TOTAL - 2, "two rows closed");
  assert.equal(await row(page, a).count(), 0);
  assert.equal(await row(page, b).count(), 0);
  for (const id of [a, b]) assert.equal((await owner.client.query("conversations:get", { id })).status, "closed");
  await page.keyboard.press("Escape");
});

test("switching the status tab goes back to the first page", async () => {
  const tab = (name) => page.getByRole("tab", { name });
  await tab("Closed").click();
  await rowsSettle(2, "two closed");
  assert.equal(await loadMore(page).count(), 0);
  await tab("Open").click();
  await loadMore(page).waitFor({ timeout: 10000 });
  await rowsSettle(100, "first page again");
  await shot(page, "inbox-pages-3-reset");
  assert.deepEqual(page.errors, []);
});
