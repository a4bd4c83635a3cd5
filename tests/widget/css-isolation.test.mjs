// Host page CSS cannot change the widget (inherited properties are reset at
// the shadow host) and the widget's CSS does not leak into the host page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { setup, startHost, hostPage, widgetReady, shot, outputDir, W } from "./helpers.mjs";

const AGGRESSIVE = `<style>
body, div, button, span { font: 40px serif !important; color: red !important; line-height: 3 !important }
* { letter-spacing: 3px; text-transform: uppercase; box-sizing: content-box; }
h2, p, textarea, ul, li { margin: 30px !important; padding: 20px !important; font-size: 30px !important; }
div { display: block; opacity: .9; }
</style>`;
// Host elements that share the widget's class names: the widget's CSS must not style them.
const DECOYS = `<button class="launcher" id="decoy-btn">decoy</button><div class="panel" id="decoy-panel">decoy</div>`;

let env, host;
before(async () => {
  env = await setup();
  const ws = env.agent.workspaceId;
  host = await startHost({
    "/plain": () => hostPage({ serverUrl: env.server.url, workspaceId: ws, body: "<h1>Plain</h1>" + DECOYS }),
    "/aggressive": () => hostPage({ serverUrl: env.server.url, workspaceId: ws, head: AGGRESSIVE, body: "<h1>Aggressive</h1>" + DECOYS }),
  });
});
after(async () => {
  await host?.close();
  await env?.teardown();
});

const PROPS = ["font-family", "font-size", "font-weight", "line-height", "color", "letter-spacing", "text-transform", "background-color", "width", "height", "padding-top", "margin-top", "border-radius", "box-sizing"];
const LIST_ELEMENTS = [".launcher", ".panel", ".head h2", ".body", ".empty", "button.primary"];
const CONV_ELEMENTS = [".head h2", ".body", ".empty", ".composer", ".composer textarea", ".composer button"];

function computed(page, els) {
  return page.evaluate(
    ([els, props]) => {
      const root = document.getElementById("opencom-widget").shadowRoot;
      const out = {};
      for (const sel of els) {
        const el = root.querySelector(sel);
        out[sel] = el ? Object.fromEntries(props.map((p) => [p, getComputedStyle(el).getPropertyValue(p)])) : null;
      }
      return out;
    },
    [els, PROPS],
  );
}

async function snapshot(path, name) {
  const ctx = await env.browser.newContext({ viewport: { width: 900, height: 760 }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  await page.goto(host.url + path);
  await widgetReady(page);
  await page.click(W(".launcher"));
  await page.waitForSelector(W("button.primary"), { state: "visible" });
  await page.evaluate(() => document.getElementById("opencom-widget").shadowRoot.activeElement?.blur());
  const listStyles = await computed(page, LIST_ELEMENTS);
  const listShot = await page.locator(W(".panel")).screenshot({ path: join(outputDir, `css-${name}-panel.png`), animations: "disabled", caret: "hide" });
  await page.click(W("button.primary"));
  await page.waitForSelector(W(".composer textarea"), { state: "visible" });
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.evaluate(() => document.getElementById("opencom-widget").shadowRoot.activeElement?.blur());
  const convStyles = await computed(page, CONV_ELEMENTS);
  const convShot = await page.locator(W(".panel")).screenshot({ path: join(outputDir, `css-${name}-conversation.png`), animations: "disabled", caret: "hide" });
  const launcherShot = await page.locator(W(".launcher")).screenshot({ animations: "disabled" });
  const decoy = await page.evaluate(() => {
    const b = getComputedStyle(document.getElementById("decoy-btn"));
    const p = getComputedStyle(document.getElementById("decoy-panel"));
    return { btnBg: b.backgroundColor, btnRadius: b.borderRadius, btnWidth: b.width, panelPosition: p.position, panelShadow: p.boxShadow };
  });
  await shot(page, `css-${name}-page`);
  await ctx.close();
  return { styles: { list: listStyles, conv: convStyles }, listShot, convShot, launcherShot, decoy };
}

test("aggressive host CSS leaves the widget's rendering unchanged", async () => {
  const plain = await snapshot("/plain", "plain");
  const aggressive = await snapshot("/aggressive", "aggressive");
  for (const sel of LIST_ELEMENTS) assert.ok(plain.styles.list[sel], `${sel} rendered in the list view`);
  for (const sel of CONV_ELEMENTS) assert.ok(plain.styles.conv[sel], `${sel} rendered in the conversation view`);
  assert.deepEqual(aggressive.styles, plain.styles);
  assert.equal(aggressive.styles.list[".head h2"]["font-size"], "16px");
  assert.equal(aggressive.styles.list[".empty"]["font-size"], "14px");
  assert.notEqual(aggressive.styles.list[".empty"]["color"], "rgb(255, 0, 0)");
  assert.notEqual(aggressive.styles.conv[".composer textarea"]["font-family"], "serif");
  assert.ok(aggressive.listShot.equals(plain.listShot), "messenger list screenshots identical");
  assert.ok(aggressive.convShot.equals(plain.convShot), "conversation screenshots identical");
  assert.ok(aggressive.launcherShot.equals(plain.launcherShot), "launcher screenshots identical");
});

test("the widget's CSS does not leak into the host page", async () => {
  const plain = await snapshot("/plain", "plain-leak");
  // Host elements named like the widget's classes keep browser defaults.
  assert.notEqual(plain.decoy.btnBg, "rgb(37, 99, 235)");
  assert.notEqual(plain.decoy.btnRadius, "50%");
  assert.notEqual(plain.decoy.btnWidth, "56px");
  assert.equal(plain.decoy.panelPosition, "static");
  assert.equal(plain.decoy.panelShadow, "none");
});
