// Shared setup for the widget tests: a real opencom server, an agent on the
// real convex client, a host page on ANOTHER origin (its own tiny HTTP
// server) and Debian's Chromium through playwright-core.
import http from "node:http";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ConvexClient } from "convex/browser";
import { startServer, freePort } from "../lib/server.mjs";

export const outputDir = join(dirname(fileURLToPath(import.meta.url)), "output");
mkdirSync(outputDir, { recursive: true });

import { CHROMIUM_ARGS, launchBrowser, waitFor } from "../lib/browser.mjs";
export { CHROMIUM_ARGS, launchBrowser, waitFor };


let agentSeq = 0;
// An agent with a password account (first sign-up creates its workspace),
// talking to the server through the real convex client.
export async function makeAgent(url) {
  const client = new ConvexClient(url, { unsavedChangesWarning: false });
  const email = `agent${Date.now()}${agentSeq++}@example.com`;
  const res = await client.action("auth:signIn", {
    provider: "password",
    params: { email, password: "correct-horse-battery-9", flow: "signUp", name: "Ada Agent", workspaceName: "Acme" },
  });
  const token = res.tokens.token;
  client.setAuth(async () => token);
  const user = await client.query("auth:currentUser", {});
  const ws = await client.mutation("workspaces:getOrCreateDefault", {});
  const workspaceId = typeof ws === "string" ? ws : ws._id;
  return { client, token, email, userId: (user.user ?? user)._id, workspaceId };
}

// Serves host pages from 127.0.0.1:<other port>: the widget's server runs on
// a different port, so the page and the server are different origins.
export async function startHost(pages) {
  const port = await freePort();
  const srv = http.createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const body = pages[path];
    if (body === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(typeof body === "function" ? body() : body);
  });
  await new Promise((r) => srv.listen(port, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => srv.close(r)) };
}

export function hostPage({ serverUrl, workspaceId, head = "", before = "", body = "<h1>Customer site</h1><p>Welcome.</p>" }) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Host page</title>${head}</head><body>${body}${before}
<script src="${serverUrl}/widget.js" data-opencom-convex-url="${serverUrl}" data-opencom-workspace-id="${workspaceId}"></script>
</body></html>`;
}

export async function setup() {
  const server = await startServer();
  const agent = await makeAgent(server.url);
  const browser = await launchBrowser();
  return {
    server,
    agent,
    browser,
    async teardown() {
      await browser.close().catch(() => {});
      await agent.client.close().catch(() => {});
      await server.stop();
    },
  };
}

// Shadow-DOM-piercing locators: playwright's css engine pierces open roots.
export const W = (sel) => `#opencom-widget ${sel}`;

export async function widgetReady(page) {
  await page.waitForSelector('#opencom-widget[data-state="ready"]', { state: "attached", timeout: 20000 });
}

export async function shot(page, name) {
  await page.screenshot({ path: join(outputDir, name + ".png") });
}
