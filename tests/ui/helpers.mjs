// Shared setup for the agent web app tests: a real opencom server (which
// embeds webui/dist), Debian's Chromium through playwright-core, and
// visitors/agents on the real convex client.
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ConvexClient, ConvexHttpClient } from "convex/browser";

export const outputDir = join(dirname(fileURLToPath(import.meta.url)), "output");
mkdirSync(outputDir, { recursive: true });

import { CHROMIUM_ARGS, launchBrowser, waitFor } from "../lib/browser.mjs";
export { CHROMIUM_ARGS, launchBrowser, waitFor };

export const PASSWORD = "correct-horse-battery-9";


/** Signs up a password account through auth:signIn (the action @convex-dev/auth calls) and returns a signed-in client. */
export async function signUp(url, { email, name, workspaceName }) {
  const client = new ConvexClient(url, { unsavedChangesWarning: false });
  const res = await client.action("auth:signIn", {
    provider: "password",
    params: { email, password: PASSWORD, flow: "signUp", name, ...(workspaceName ? { workspaceName } : {}) },
  });
  const token = res.tokens.token;
  client.setAuth(async () => token);
  const me = await client.query("auth:currentUser", {});
  return { client, token, email, userId: me.user._id, workspaceId: me.user.workspaceId, me };
}

/** A widget visitor: boots a session and opens a conversation, all through the real convex client. */
export async function makeVisitor(url, workspaceId, { name } = {}) {
  const client = new ConvexClient(url, { unsavedChangesWarning: false });
  const boot = await client.mutation("widgetSessions:boot", {
    workspaceId,
    sessionId: "sess-" + Math.random().toString(36).slice(2),
    ...(name ? { name } : {}),
    device: { browser: "Firefox", os: "Linux", deviceType: "desktop" },
    location: { city: "Lyon", country: "France" },
    customAttributes: { plan: "pro", seats: 12 },
  });
  const sessionToken = boot.sessionToken;
  const conv = await client.mutation("conversations:createForVisitor", { workspaceId, sessionToken });
  const visitorId = boot.visitor._id;
  return {
    client,
    sessionToken,
    visitorId,
    conversationId: conv._id,
    send: (content) => client.mutation("messages:send", { conversationId: conv._id, senderType: "visitor", senderId: visitorId, content, sessionToken }),
  };
}

export async function shot(page, name) {
  await page.screenshot({ path: join(outputDir, name + ".png") });
}

/** Opens the app and signs in through the UI form. */
export async function signInUI(browser, url, email, viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.errors = errors;
  await page.goto(url + "/");
  await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 15000 });
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15000 });
  return page;
}

export { ConvexHttpClient };
