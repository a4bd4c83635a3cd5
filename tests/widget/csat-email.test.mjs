// Email capture when the workspace asks for it, and the CSAT prompt after
// an agent closes the conversation.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, startHost, hostPage, widgetReady, waitFor, shot, W } from "./helpers.mjs";

let env, host;
before(async () => {
  env = await setup();
  await env.agent.client.mutation("automationSettings:upsert", { workspaceId: env.agent.workspaceId, collectEmailEnabled: true, askForRatingEnabled: true });
  host = await startHost({ "/": () => hostPage({ serverUrl: env.server.url, workspaceId: env.agent.workspaceId }) });
});
after(async () => {
  await host?.close();
  await env?.teardown();
});

test("email capture, then a CSAT rating after the conversation is closed", async () => {
  const { agent } = env;
  const page = await env.browser.newPage({ viewport: { width: 1000, height: 760 } });
  await page.goto(host.url + "/");
  await widgetReady(page);
  await page.evaluate(() => window.OpencomWidget.open());
  await page.click(W("button.primary"));
  // No email capture before the visitor wrote anything.
  assert.equal((await page.$$(W("[data-email-capture]"))).length, 0);
  await page.fill(W(".composer textarea"), "Can someone call me back?");
  await page.click(W('.composer button[type="submit"]'));
  await page.waitForSelector(W(".msg.me[data-message]"));

  // Email capture appears; an invalid address is refused in place.
  await page.waitForSelector(W("[data-email-capture] input"));
  await page.fill(W("[data-email-capture] input"), "not-an-email");
  await page.click(W('[data-email-capture] button[type="submit"]'));
  await waitFor(async () => /valid email/.test(await page.textContent(W("[data-email-capture] .note"))), { message: "validation note" });
  await page.fill(W("[data-email-capture] input"), "visitor@example.com");
  await page.click(W('[data-email-capture] button[type="submit"]'));
  await page.waitForSelector(W("[data-email-capture]"), { state: "detached" });
  const visitorId = await page.getAttribute("#opencom-widget", "data-visitor");
  const visitor = await agent.client.query("visitors:get", { id: visitorId });
  assert.equal(visitor.email, "visitor@example.com");

  // The agent closes the conversation: the widget offers a rating.
  const list = await agent.client.query("conversations:list", { workspaceId: agent.workspaceId });
  const conversationId = (Array.isArray(list) ? list : list.page)[0]._id;
  await agent.client.mutation("messages:send", { conversationId, senderType: "agent", senderId: agent.userId, content: "We'll call you today." });
  await agent.client.mutation("conversations:updateStatus", { id: conversationId, status: "closed" });
  await page.waitForSelector(W('[data-csat="prompt"]'), { timeout: 10000 });
  await shot(page, "csat-1-prompt");
  // Keyboard: tab to the 5th star and press Enter.
  await page.focus(W('[data-csat="prompt"] .stars button:nth-child(5)'));
  await page.keyboard.press("Enter");
  await page.waitForSelector(W('[data-csat="done"]'), { timeout: 10000 });
  await shot(page, "csat-2-done");
  const elig = await agent.client.query("reporting:getCsatEligibility", { conversationId });
  assert.equal(elig.alreadySubmitted, true);
  assert.equal(elig.eligible, false);

  // After a reload the prompt stays answered (server-side eligibility).
  await page.reload();
  await widgetReady(page);
  await page.evaluate(() => window.OpencomWidget.open());
  await page.click(W(`button.conv[data-conversation="${conversationId}"]`));
  await page.waitForSelector(W(".closed"));
  await page.waitForSelector(W('[data-csat="done"]'), { timeout: 10000 });
  assert.equal((await page.$$(W('[data-csat="prompt"]'))).length, 0);
  await page.close();
});
