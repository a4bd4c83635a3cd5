// Renaming a workspace in Settings → Workspace (workspaces:updateName) in
// real Chromium against a real server: the owner renames it and the header's
// workspace switcher shows the new name without a reload (it comes from the
// auth:currentUser subscription), also in a viewer's open tab; an empty name
// shows the server's error text and code and changes nothing; a viewer sees
// the name read-only, with no form.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { launchBrowser, shot, signInUI, signUp, waitFor } from "./helpers.mjs";

let server, browser, owner, viewer;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  owner = await signUp(server.url, { email: "owner@example.com", name: "Olivia Owner", workspaceName: "Acme Support" });
  const invited = await owner.client.action("workspaceMembers:inviteToWorkspace", {
    workspaceId: owner.workspaceId,
    email: "viewer@example.com",
    role: "viewer",
    baseUrl: server.url,
  });
  assert.equal(invited.status, "invited");
  viewer = await signUp(server.url, { email: "viewer@example.com", name: "Victor Viewer" });
  assert.equal(viewer.workspaceId, owner.workspaceId);
});
after(async () => {
  await owner?.client.close().catch(() => {});
  await viewer?.client.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
});

const headerName = (p) => p.getByRole("combobox", { name: "Workspace", exact: true }).locator("option:checked").textContent();
const nameInput = (p) => p.getByRole("textbox", { name: "Workspace name", exact: true });

async function openWorkspaceSettings(p) {
  await p.getByRole("link", { name: "Settings" }).click();
  await p.getByTestId("workspace-name").waitFor();
  await waitFor(async () => (await p.locator(".loading").count()) === 0, { message: "settings loaded" });
}

test("the owner renames the workspace; headers update live; an empty name shows the error", async () => {
  const page = await signInUI(browser, server.url, owner.email);
  const vp = await signInUI(browser, server.url, viewer.email);
  assert.equal(await vp.getByTestId("role").textContent(), "viewer");
  await openWorkspaceSettings(page);
  assert.equal(await headerName(page), "Acme Support");
  assert.equal(await headerName(vp), "Acme Support");
  assert.equal(await nameInput(page).inputValue(), "Acme Support");
  // Marks that must survive: no reload in either tab.
  await page.evaluate(() => (window.__noReload = true));
  await vp.evaluate(() => (window.__noReload = true));

  // Empty (whitespace) name: the server's message and code, nothing changes.
  await nameInput(page).fill("   ");
  await page.getByRole("button", { name: "Save name" }).click();
  const form = page.getByRole("form", { name: "Rename workspace" });
  const alert = form.getByRole("alert");
  await alert.waitFor({ timeout: 10000 });
  const text = await alert.textContent();
  assert.match(text, /Workspace name is required/, "error text: " + text);
  assert.match(text, /\(INVALID_INPUT\)/, "error code: " + text);
  assert.equal(await form.getByRole("status").count(), 0, "no saved confirmation on failure");
  await shot(page, "workspace-rename-1-empty-error");
  assert.equal(await headerName(page), "Acme Support");
  assert.equal(await page.getByTestId("workspace-name").textContent(), "Acme Support");
  const stored = await owner.client.query("workspaces:get", { id: owner.workspaceId });
  assert.equal(stored.name, "Acme Support");

  // A real rename: trimmed by the server, confirmation shown, header live.
  await nameInput(page).fill("  Acme Customer Care  ");
  await page.getByRole("button", { name: "Save name" }).click();
  await form.getByRole("status").filter({ hasText: "Saved" }).waitFor({ timeout: 10000 });
  assert.match(await form.getByRole("status").textContent(), /Acme Customer Care/);
  assert.equal(await form.getByRole("alert").count(), 0, "the earlier error is cleared");
  await waitFor(async () => (await headerName(page)) === "Acme Customer Care", { message: "owner header shows the new name", timeout: 5000 });
  assert.equal(await page.getByTestId("workspace-name").textContent(), "Acme Customer Care");
  assert.equal(await nameInput(page).inputValue(), "Acme Customer Care");
  await shot(page, "workspace-rename-2-saved");
  // The viewer's open tab follows through its subscription.
  await waitFor(async () => (await headerName(vp)) === "Acme Customer Care", { message: "viewer header shows the new name", timeout: 5000 });
  assert.equal(await page.evaluate(() => window.__noReload), true, "owner tab was not reloaded");
  assert.equal(await vp.evaluate(() => window.__noReload), true, "viewer tab was not reloaded");

  // The audit log has the change with from/to.
  await page.getByRole("link", { name: "Audit log" }).click();
  const audit = page.getByRole("table", { name: "Audit log" });
  await audit.getByText('"field":"name"').waitFor({ timeout: 10000 });
  assert.match(await audit.textContent(), /"from":"Acme Support","to":"Acme Customer Care"/);

  assert.deepEqual(page.errors, []);
  assert.deepEqual(vp.errors, []);
  await page.close();
  await vp.close();
});

test("a viewer sees the name read-only and no rename form", async () => {
  const vp = await signInUI(browser, server.url, viewer.email);
  await openWorkspaceSettings(vp);
  assert.equal(await vp.getByTestId("workspace-name-readonly").textContent(), "Acme Customer Care");
  assert.equal(await vp.getByRole("form", { name: "Rename workspace" }).count(), 0);
  assert.equal(await nameInput(vp).count(), 0);
  assert.equal(await vp.getByRole("button", { name: "Save name" }).count(), 0);
  await vp.getByText("Only owners and admins can rename the workspace.").waitFor();
  await shot(vp, "workspace-rename-3-viewer-readonly");
  // The server refuses the viewer too.
  await assert.rejects(viewer.client.mutation("workspaces:updateName", { workspaceId: viewer.workspaceId, name: "Hijacked" }), (e) => e.data?.code === "PERMISSION_DENIED");
  assert.deepEqual(vp.errors, []);
  await vp.close();
});
