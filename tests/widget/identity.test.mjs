// Identity verification end to end: the workspace requires a userHash;
// OpencomWidget.identify with the right HMAC verifies the visitor, a wrong
// one is refused (visibly) and does not identify anyone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { setup, startHost, hostPage, widgetReady, waitFor, shot, W } from "./helpers.mjs";

let env, host, secret;
before(async () => {
  env = await setup();
  const r = await env.agent.client.mutation("identityVerification:enable", { workspaceId: env.agent.workspaceId, mode: "required" });
  secret = r.secret;
  host = await startHost({ "/": () => hostPage({ serverUrl: env.server.url, workspaceId: env.agent.workspaceId }) });
});
after(async () => {
  await host?.close();
  await env?.teardown();
});

const hmac = (key, userId) => createHmac("sha256", key).update(userId).digest("hex");

test("identify with a correct userHash verifies the visitor", async () => {
  assert.match(secret, /^[A-Za-z0-9]{64}$/);
  const settings = await env.agent.client.query("identityVerification:getSettings", { workspaceId: env.agent.workspaceId });
  assert.equal(settings.mode, "required");
  const page = await env.browser.newPage({ viewport: { width: 1000, height: 760 } });
  await page.goto(host.url + "/");
  // Anonymous visitors still boot when verification is required.
  await widgetReady(page);
  const anonymous = await page.getAttribute("#opencom-widget", "data-visitor");

  const res = await page.evaluate(
    ([hash]) => window.OpencomWidget.identify({ userId: "user-42", email: "grace@example.com", name: "Grace", userHash: hash }),
    [hmac(secret, "user-42")],
  );
  assert.equal(res.identityVerified, true);
  const visitor = await env.agent.client.query("visitors:get", { id: res.visitorId });
  assert.equal(visitor.externalUserId, "user-42");
  assert.equal(visitor.email, "grace@example.com");
  assert.equal(visitor.identityVerified, true);
  assert.equal(await page.getAttribute("#opencom-widget", "data-error"), null);
  // Same browser session: boot keeps the visitor (found by sessionId).
  assert.equal(res.visitorId, anonymous);
  await page.click(W(".launcher"));
  await page.waitForSelector(W(".panel"), { state: "visible" });
  await shot(page, "identity-1-verified");
  await page.close();
});

test("identify with a wrong userHash is refused and shown", async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await ctx.newPage();
  await page.goto(host.url + "/");
  await widgetReady(page);
  const before = await page.evaluate((ws) => localStorage.getItem("opencom_widget_session:" + ws), env.agent.workspaceId);
  const visitorId = await page.getAttribute("#opencom-widget", "data-visitor");

  const err = await page.evaluate(
    ([hash]) => window.OpencomWidget.identify({ userId: "user-42", userHash: hash }).then(() => null, (e) => e.message),
    [hmac("not-the-secret", "user-42")],
  );
  assert.match(err ?? "", /Identity verification failed/);
  // The visitor was not identified as user-42 and keeps its anonymous session.
  const visitor = await env.agent.client.query("visitors:get", { id: visitorId });
  assert.notEqual(visitor.externalUserId, "user-42");
  assert.notEqual(visitor.identityVerified, true);
  assert.equal(await page.evaluate((ws) => localStorage.getItem("opencom_widget_session:" + ws), env.agent.workspaceId), before);
  // The widget says so.
  assert.match((await page.getAttribute("#opencom-widget", "data-error")) ?? "", /Identity verification failed/);
  await page.click(W(".launcher"));
  await page.waitForSelector(W(".banner.err"), { state: "visible" });
  assert.match(await page.textContent(W(".banner.err")), /Identity verification failed/);
  await shot(page, "identity-2-wrong-hash");

  // A userId without any hash is refused too in required mode.
  const err2 = await page.evaluate(() => window.OpencomWidget.identify({ userId: "user-43" }).then(() => null, (e) => e.message));
  assert.match(err2 ?? "", /Identity verification failed/);
  await ctx.close();
});
