// First run on an empty database: the owner account and workspace are
// created through the UI; then sign out, sign in again, and the settings
// screens show this server's widget snippet. Also checks phone width.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { launchBrowser, shot, waitFor, PASSWORD, signInUI } from "./helpers.mjs";

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
});

const EMAIL = "owner@example.com";

test("first-run setup creates the owner account and workspace", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(server.url + "/");
  await page.getByRole("heading", { name: "Welcome to Opencom" }).waitFor({ timeout: 15000 });
  await page.getByLabel("Your name").fill("Olivia Owner");
  await page.getByLabel("Workspace name").fill("Acme Support");
  await page.getByLabel("Email").fill(EMAIL);
  await page.getByLabel("Password").fill(PASSWORD);
  await shot(page, "setup-1-form");
  await page.getByRole("button", { name: "Create owner account" }).click();

  await page.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 15000 });
  assert.equal(await page.getByTestId("role").textContent(), "owner");
  assert.equal(await page.getByLabel("Workspace").inputValue().then((v) => v.length > 0), true);
  assert.match(await page.getByLabel("Workspace").locator("option:checked").textContent(), /Acme Support/);
  await waitFor(async () => (await page.getByTestId("connection-state").textContent()) === "Connected", { message: "connected badge" });
  assert.equal(new URL(page.url()).pathname, "/inbox");
  await page.getByText("No open conversations.").waitFor();
  await shot(page, "setup-2-inbox");

  // The setup screen is gone for good: a second browser sees the sign-in form.
  const other = await browser.newPage();
  await other.goto(server.url + "/");
  await other.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 15000 });
  assert.equal(await other.getByText("Welcome to Opencom").count(), 0);
  await other.close();

  // Widget installation snippet carries this server's origin and the workspace id.
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("link", { name: "Widget installation" }).click();
  const snippet = await page.getByTestId("widget-snippet").textContent();
  const wsId = await page.getByLabel("Workspace").inputValue();
  assert.equal(snippet, `<script src="${server.url}/widget.js" data-opencom-convex-url="${server.url}" data-opencom-workspace-id="${wsId}"></script>`);
  await shot(page, "setup-3-widget-snippet");

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 15000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("sign in with the owner account; a wrong password shows a readable error", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(server.url + "/");
  await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 15000 });
  await page.getByLabel("Email").fill(EMAIL);
  await page.getByLabel("Password").fill("wrong-password-123");
  await page.getByRole("button", { name: "Sign in" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor({ timeout: 15000 });
  const text = await alert.textContent();
  assert.ok(text.length > 3 && !/^\s*$/.test(text), "error shown: " + text);
  await shot(page, "signin-1-error");
  await page.close();

  const ok = await signInUI(browser, server.url, EMAIL);
  assert.equal(await ok.getByTestId("role").textContent(), "owner");
  await ok.getByRole("link", { name: "Settings" }).click();
  await ok.getByTestId("workspace-name").waitFor();
  assert.equal(await ok.getByTestId("workspace-name").textContent(), "Acme Support");
  await shot(ok, "signin-2-settings");

  // Phone width: one column, the nav stays usable.
  await ok.setViewportSize({ width: 390, height: 844 });
  await ok.getByRole("link", { name: "Inbox" }).click();
  await ok.getByRole("heading", { name: "Inbox" }).waitFor();
  assert.ok(await ok.getByRole("link", { name: "Tickets" }).isVisible());
  const overflow = await ok.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, "no horizontal overflow at phone width, got " + overflow);
  await shot(ok, "signin-3-phone");
  assert.deepEqual(ok.errors, []);
  await ok.close();
});

test("every screen renders against the real server without errors", async () => {
  const page = await signInUI(browser, server.url, EMAIL);
  const screens = [
    ["/tickets", "Tickets"],
    ["/snippets", "Snippets"],
    ["/tags", "Tags"],
    ["/settings/workspace", "Settings"],
    ["/settings/team", "Settings"],
    ["/settings/widget", "Settings"],
    ["/settings/security", "Settings"],
    ["/settings/automation", "Settings"],
    ["/settings/audit", "Settings"],
  ];
  for (const [path, heading] of screens) {
    await page.evaluate((p) => { history.pushState(null, "", p); dispatchEvent(new PopStateEvent("popstate")); }, path);
    await page.getByRole("heading", { name: heading, exact: true }).waitFor({ timeout: 10000 });
    await waitFor(async () => (await page.locator(".loading").count()) === 0, { message: "loaded " + path });
    const alerts = await page.getByRole("alert").allTextContents();
    assert.deepEqual(alerts, [], "errors on " + path);
    await shot(page, "screen" + path.replace(/\//g, "-"));
  }
  // Creating a tag and a snippet through the UI shows them live.
  await page.getByRole("link", { name: "Tags" }).click();
  await page.getByLabel("Tag name").fill("billing");
  await page.getByRole("button", { name: "Create tag" }).click();
  await page.locator(".tag-list").getByText("billing").waitFor();
  await page.getByLabel("Tag name").fill("billing");
  await page.getByRole("button", { name: "Create tag" }).click();
  const alert = await page.getByRole("alert").textContent({ timeout: 10000 });
  assert.match(alert, /already exists/i);
  assert.match(alert, /\([A-Z_]+\)/, "error shows its code: " + alert);
  await shot(page, "screen-tags-error");
  // Identity verification: enabling shows the secret to the owner.
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("link", { name: "Identity verification" }).click();
  await page.getByRole("button", { name: "Enable" }).click();
  await page.getByTestId("identity-status").filter({ hasText: "Enabled" }).waitFor();
  await page.getByRole("button", { name: "Show" }).click();
  assert.match(await page.getByTestId("identity-secret").textContent(), /^[A-Za-z0-9]{32,}$/);
  // The audit log records it.
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("table", { name: "Audit log" }).getByText("widget.identity.enabled").waitFor({ timeout: 10000 });
  await shot(page, "screen-audit-after-enable");
  assert.deepEqual(page.errors, []);
  await page.close();
});
