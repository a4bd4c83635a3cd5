// Attachments through the widget: a visitor attaches a PNG in the widget
// composer on a cross-origin host page; the agent (real convex client)
// sees it with a working URL; the agent sends a PDF and the widget shows a
// download link served as an attachment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, startHost, hostPage, widgetReady, waitFor, shot, W } from "./helpers.mjs";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

let env, host;
before(async () => {
  env = await setup();
  host = await startHost({ "/": () => hostPage({ serverUrl: env.server.url, workspaceId: env.agent.workspaceId }) });
});
after(async () => {
  await host?.close();
  await env?.teardown();
});

const list = (r) => (Array.isArray(r) ? r : r.page);

test("a visitor attaches a PNG in the widget; an agent's PDF arrives as a download link", async () => {
  const { agent } = env;
  const page = await env.browser.newPage({ viewport: { width: 1000, height: 760 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(host.url + "/");
  await widgetReady(page);
  await page.click(W(".launcher"));
  await page.click(W("button.primary"));
  await page.waitForSelector(W(".composer textarea"), { state: "visible" });

  // Attach: the file is uploaded and staged as a removable chip.
  await page.setInputFiles(W("input[data-attach]"), { name: "screenshot.png", mimeType: "image/png", buffer: PNG });
  await page.waitForSelector(W(".chips .chip button[aria-label='Remove screenshot.png']"), { timeout: 15000 });
  // Remove it and attach it again: only the second upload is sent.
  await page.click(W(".chips .chip button[aria-label='Remove screenshot.png']"));
  await page.waitForSelector(W(".chips"), { state: "hidden" });
  await page.setInputFiles(W("input[data-attach]"), { name: "screenshot.png", mimeType: "image/png", buffer: PNG });
  await page.waitForSelector(W(".chips .chip button[aria-label='Remove screenshot.png']"), { timeout: 15000 });
  await page.fill(W(".composer textarea"), "Here is the error");
  await page.keyboard.press("Enter");

  // The widget shows the thumbnail once the server confirmed the message.
  await page.waitForSelector(W(".msg.me[data-message] .files a.file.img img"), { timeout: 15000 });
  await waitFor(() => page.$eval(W(".msg.me[data-message] .files img"), (img) => img.complete && img.naturalWidth === 1), { message: "thumbnail loaded" });
  assert.equal(await page.isHidden(W(".chips")), true);
  await shot(page, "attachments-1-visitor-png");

  // The agent sees the attachment, and its URL serves the bytes.
  const convs = await waitFor(async () => {
    const l = list(await agent.client.query("conversations:list", { workspaceId: agent.workspaceId }));
    return l.length ? l : null;
  }, { message: "conversation visible to the agent" });
  const conversationId = convs[0]._id;
  const msgs = list(await agent.client.query("messages:list", { conversationId })).filter((m) => m.senderType === "visitor");
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].content, "Here is the error");
  assert.equal(msgs[0].attachments.length, 1);
  const png = msgs[0].attachments[0];
  assert.equal(png.fileName, "screenshot.png");
  assert.equal(png.mimeType, "image/png");
  assert.equal(png.size, PNG.length);
  const res = await fetch(png.url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "image/png");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(PNG));

  // The agent uploads a PDF (generateUploadUrl → POST → finalizeUpload) and sends it.
  const url = await agent.client.mutation("supportAttachments:generateUploadUrl", { workspaceId: agent.workspaceId });
  const up = await fetch(url, { method: "POST", headers: { "content-type": "application/pdf" }, body: "%PDF-1.4 invoice" });
  assert.equal(up.status, 200);
  const { storageId } = await up.json();
  const fin = await agent.client.mutation("supportAttachments:finalizeUpload", { workspaceId: agent.workspaceId, storageId, fileName: "invoice.pdf" });
  assert.equal(fin.status, "staged");
  await agent.client.mutation("messages:send", {
    conversationId, senderType: "agent", senderId: agent.userId, content: "Your invoice", attachmentIds: [fin.attachmentId],
  });

  const link = W('.msg[data-sender="agent"] .files a.file');
  await page.waitForSelector(link, { timeout: 10000 });
  assert.match(await page.textContent(link), /^invoice\.pdf \(16 B\)$/);
  assert.equal(await page.getAttribute(link, "download"), "invoice.pdf");
  const href = await page.getAttribute(link, "href");
  assert.ok(href.startsWith(env.server.url + "/api/storage/"), href);
  // Fetched from the host page's origin, as the browser would.
  const got = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, type: r.headers.get("content-type"), body: await r.text() };
  }, href);
  const direct = await fetch(href);
  assert.equal(direct.status, 200);
  assert.equal(direct.headers.get("content-type"), "application/pdf");
  assert.match(direct.headers.get("content-disposition"), /^attachment; filename=invoice\.pdf$/);
  assert.equal(await direct.text(), "%PDF-1.4 invoice");
  assert.deepEqual(got, { status: 200, type: "application/pdf", body: "%PDF-1.4 invoice" });
  await shot(page, "attachments-2-agent-pdf");
  assert.deepEqual(errors, []);
  await page.close();
});
