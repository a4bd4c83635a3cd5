// Network loss: the server goes away while the visitor writes; the message
// stays visibly pending, the widget shows it is reconnecting, and once the
// server is back (same address, same data) the convex client replays the
// mutation: the message is stored exactly once and the agent's reply shows.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { startServer, binary } from "../lib/server.mjs";

// Restart on the SAME address and data dir (startServer always picks a new
// port, so the second run is spawned here directly).
async function restart(url, dataDir) {
  const proc = spawn(binary, ["serve", "--addr", new URL(url).host, "--data-dir", dataDir, "--test-mode"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((r) => proc.on("exit", r));
  await waitFor(async () => (await fetch(url + "/healthz")).ok, { timeout: 20000, message: "restarted server healthy" }).catch((e) => {
    proc.kill("SIGKILL");
    throw new Error(e.message + "\n" + out);
  });
  return {
    url,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      return exited;
    },
  };
}
import { launchBrowser, makeAgent, startHost, hostPage, widgetReady, waitFor, shot, W } from "./helpers.mjs";

let server, dataDir, browser, host, agent;
before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "opencom-widget-reconnect-"));
  server = await startServer({ dataDir });
  agent = await makeAgent(server.url);
  browser = await launchBrowser();
  host = await startHost({ "/": () => hostPage({ serverUrl: server.url, workspaceId: agent.workspaceId }) });
});
after(async () => {
  await host?.close();
  await browser?.close();
  await agent?.client.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const nonBot = (r) => (Array.isArray(r) ? r : r.page).filter((m) => m.senderType !== "bot");

test("messages sent during an outage are delivered once and replies arrive after reconnecting", async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
  await page.goto(host.url + "/");
  await widgetReady(page);
  await page.evaluate(() => window.OpencomWidget.open());
  await page.click(W("button.primary"));
  await page.fill(W(".composer textarea"), "first message");
  await page.keyboard.press("Enter");
  await page.waitForSelector(W(".msg.me[data-message]"));
  const list = await agent.client.query("conversations:list", { workspaceId: agent.workspaceId });
  const conversationId = (Array.isArray(list) ? list : list.page)[0]._id;

  // Outage.
  assert.equal(await server.stop(), 0);
  await page.waitForSelector('#opencom-widget[data-connected="false"]', { state: "attached", timeout: 15000 });
  await page.fill(W(".composer textarea"), "sent while offline");
  await page.keyboard.press("Enter");
  await page.waitForSelector(W('[data-pending="pending"]'));
  assert.match(await page.textContent(W('[data-pending="pending"] .meta')), /Sending/);
  assert.match(await page.textContent(W(".banner")), /Reconnecting/);
  await shot(page, "reconnect-1-offline");

  // Back on the same address with the same data.
  server = await restart(server.url, dataDir);
  await page.waitForSelector(W('.msg.me[data-message] >> text="sent while offline"'), { timeout: 30000 });
  await waitFor(async () => (await page.$$(W("[data-pending]"))).length === 0, { message: "pending bubble resolved" });
  await page.waitForSelector('#opencom-widget[data-connected="true"]', { state: "attached" });

  await agent.client.mutation("messages:send", { conversationId, senderType: "agent", senderId: agent.userId, content: "Got both, thanks." });
  await page.waitForSelector(W('.msg[data-sender="agent"] >> text="Got both, thanks."'), { timeout: 15000 });
  await shot(page, "reconnect-2-back");

  const msgs = nonBot(await agent.client.query("messages:list", { conversationId }));
  assert.deepEqual(msgs.map((m) => m.content), ["first message", "sent while offline", "Got both, thanks."]);
  const shown = await page.$$eval(W('.msg[data-message]:not([data-sender="bot"]) .bubble'), (els) => els.map((e) => e.textContent));
  assert.deepEqual(shown, ["first message", "sent while offline", "Got both, thanks."]);
  await page.close();
});
