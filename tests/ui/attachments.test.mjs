// Attachments in the agent inbox (real Chromium, real server): a visitor
// (real convex client) sends a PNG and the open conversation shows a
// thumbnail whose link serves the image; the agent attaches a PDF with the
// compose box's file input (a removable chip until sent) and the visitor's
// subscription gets a download descriptor served as an attachment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { launchBrowser, makeVisitor, shot, signInUI, signUp, waitFor } from "./helpers.mjs";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

let server, browser, owner, page, visitor;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await signUp(server.url, { email: "owner@example.com", name: "Olivia Owner", workspaceName: "Acme Support" });
  page = await signInUI(browser, server.url, owner.email);
});
after(async () => {
  await visitor?.client.close().catch(() => {});
  await owner?.client.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
});

test("a visitor's PNG shows in the inbox; the agent's PDF reaches the visitor as a download", async () => {
  const v = (visitor = await makeVisitor(server.url, owner.workspaceId, { name: "Vera Visitor" }));
  const ws = owner.workspaceId;
  // The visitor uploads with its session token.
  const url = await v.client.mutation("supportAttachments:generateUploadUrl", { workspaceId: ws, sessionToken: v.sessionToken });
  const up = await fetch(url, { method: "POST", headers: { "content-type": "image/png" }, body: PNG });
  const { storageId } = await up.json();
  const fin = await v.client.mutation("supportAttachments:finalizeUpload", { workspaceId: ws, sessionToken: v.sessionToken, storageId, fileName: "broken.png" });
  assert.equal(fin.status, "staged");
  await v.client.mutation("messages:send", {
    conversationId: v.conversationId, senderType: "visitor", senderId: v.visitorId, sessionToken: v.sessionToken, content: "It looks like this", attachmentIds: [fin.attachmentId],
  });

  await page.locator(`li.conv-row[data-conversation-id="${v.conversationId}"] a`).click();
  const log = page.getByRole("log", { name: "Messages" });
  await log.getByText("It looks like this").waitFor();
  const thumb = log.locator(".msg.in .msg-attachments a.attachment.image");
  await thumb.waitFor();
  const img = thumb.locator("img");
  assert.equal(await img.getAttribute("alt"), "broken.png");
  await waitFor(() => img.evaluate((el) => el.complete && el.naturalWidth === 1), { message: "thumbnail loaded" });
  const href = await thumb.getAttribute("href");
  assert.ok(href.startsWith(server.url + "/api/storage/"), href);
  const got = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, type: r.headers.get("content-type"), size: (await r.arrayBuffer()).byteLength };
  }, href);
  assert.deepEqual(got, { status: 200, type: "image/png", size: PNG.length });
  await shot(page, "attachments-1-inbox-png");

  // The agent attaches a PDF: a chip appears, can be removed, re-added, then sent.
  const input = page.getByTestId("attach-input");
  const pdf = { name: "invoice.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4 invoice") };
  await input.setInputFiles(pdf);
  const chips = page.getByRole("list", { name: "Attached files" });
  await chips.getByText("invoice.pdf").waitFor({ timeout: 15000 });
  await page.getByRole("button", { name: "Remove invoice.pdf" }).click();
  await chips.waitFor({ state: "detached" });
  await input.setInputFiles(pdf);
  await chips.getByText("invoice.pdf").waitFor({ timeout: 15000 });
  // An unsupported file is refused with the server's message.
  await input.setInputFiles({ name: "page.html", mimeType: "text/html", buffer: Buffer.from("<script>alert(1)</script>") });
  await page.getByRole("alert").getByText(/Unsupported file type/).waitFor({ timeout: 15000 });
  await page.getByRole("textbox", { name: "Reply" }).fill("Here is your invoice");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  const link = log.locator(".msg.out .msg-attachments a.attachment.file");
  await link.waitFor({ timeout: 10000 });
  assert.match(await link.textContent(), /invoice\.pdf/);
  assert.equal(await link.getAttribute("download"), "invoice.pdf");
  await chips.waitFor({ state: "detached" });
  await shot(page, "attachments-2-inbox-pdf");

  // The visitor's subscription carries the descriptor; the URL downloads.
  const msgs = await v.client.query("messages:list", { conversationId: v.conversationId, sessionToken: v.sessionToken });
  const agentMsg = msgs.find((m) => m.senderType === "agent");
  assert.equal(agentMsg.content, "Here is your invoice");
  assert.deepEqual(agentMsg.attachments.map((a) => [a.fileName, a.mimeType, a.size]), [["invoice.pdf", "application/pdf", 16]]);
  const res = await fetch(agentMsg.attachments[0].url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/pdf");
  assert.equal(res.headers.get("content-disposition"), "attachment; filename=invoice.pdf");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(await res.text(), "%PDF-1.4 invoice");
  assert.deepEqual(page.errors, []);
});

test("a visitor's ticket attachment shows on the ticket page", async () => {
  const v = visitor;
  const ws = owner.workspaceId;
  const url = await v.client.mutation("supportAttachments:generateUploadUrl", { workspaceId: ws, sessionToken: v.sessionToken });
  const { storageId } = await (await fetch(url, { method: "POST", headers: { "content-type": "text/csv" }, body: "a,b\n1,2\n" })).json();
  const fin = await v.client.mutation("supportAttachments:finalizeUpload", { workspaceId: ws, sessionToken: v.sessionToken, storageId, fileName: "export.csv" });
  const ticketId = await v.client.mutation("tickets:create", { workspaceId: ws, sessionToken: v.sessionToken, subject: "Export is wrong", attachmentIds: [fin.attachmentId] });
  await page.goto(server.url + "/tickets/" + ticketId);
  const link = page.locator("a.attachment.file", { hasText: "export.csv" });
  await link.waitFor({ timeout: 15000 });
  const res = await fetch(await link.getAttribute("href"));
  assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
  assert.equal(res.headers.get("content-disposition"), "attachment; filename=export.csv");
  assert.equal(await res.text(), "a,b\n1,2\n");
  await shot(page, "attachments-3-ticket");
});
