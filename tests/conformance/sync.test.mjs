// Conformance of the sync protocol and the HTTP function API with the real
// `convex` npm client, against a real `opencom serve --test-mode`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { startServer } from "../lib/server.mjs";

const api = anyApi;
const CHUNK = 65536;
let server;
let http;

before(async () => {
  server = await startServer({ env: { OPENCOM_SYNC_CHUNK_THRESHOLD: String(CHUNK) } });
  http = new ConvexHttpClient(server.url);
});

after(async () => {
  if (!server) return;
  const code = await server.stop();
  assert.equal(code, 0, "server did not shut down cleanly:\n" + server.logs());
});

let seq = 0;
const uniq = (p) => `${p}-${process.pid}-${++seq}`;

// waitFor polls until check() returns a truthy value (updates arrive
// asynchronously); it fails with the last value after a generous deadline.
async function waitFor(check, what, ms = 20000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// watch subscribes and records every value and error.
function watch(client, fnRef, args) {
  const w = { values: [], errors: [], latest: undefined };
  w.unsubscribe = client.onUpdate(
    fnRef,
    args,
    (v) => {
      w.values.push(v);
      w.latest = v;
    },
    (e) => w.errors.push(e),
  );
  return w;
}

function newClient() {
  // Throwing from the client on a FatalError would be an uncaught exception:
  // none must happen in these tests.
  return new ConvexClient(server.url, { logger: false });
}

test("subscribe, mutate, the update arrives and the mutation resolves", async () => {
  const client = newClient();
  try {
    const listId = uniq("sub");
    const w = watch(client, api._test.listItems, { listId });
    await waitFor(() => w.latest !== undefined, "initial result");
    assert.deepEqual(w.latest, []);
    const id = await client.mutation(api._test.addItem, { listId, text: "hello" });
    assert.equal(typeof id, "string");
    // The mutation resolves only with a Transition at or after its ts, so
    // the subscription already reflects it (read-your-writes).
    assert.equal(w.latest.length, 1);
    assert.equal(w.latest[0]._id, id);
    assert.equal(w.latest[0].text, "hello");
    // A write by someone else arrives too.
    await http.mutation(api._test.addItem, { listId, text: "from http" });
    await waitFor(() => w.latest.length === 2, "second item");
    assert.deepEqual(w.errors, []);
  } finally {
    await client.close();
  }
});

test("ConvexError data.code reaches the caller of a mutation, query and action", async () => {
  const client = newClient();
  try {
    await assert.rejects(client.mutation(api._test.fail, { code: "NOT_AUTHORIZED", message: "nope" }), (e) => {
      assert.equal(e.name, "ConvexError");
      assert.equal(e.data.code, "NOT_AUTHORIZED");
      assert.equal(e.data.message, "nope");
      return true;
    });
    await assert.rejects(client.action(api._test.failAction, { code: "RATE_LIMITED", message: "slow" }), (e) => e.data?.code === "RATE_LIMITED");
    const w = watch(client, api._test.failQuery, { code: "NOT_FOUND", message: "gone" });
    await waitFor(() => w.errors.length > 0, "query error");
    assert.equal(w.errors[0].data.code, "NOT_FOUND");
    // Validation names the field.
    await assert.rejects(client.mutation(api._test.addItem, { listId: 3, text: "x" }), (e) => e.data?.code === "INVALID_INPUT" && /listId/.test(e.data.message));
    // A panic is a failed function; the connection keeps working.
    await assert.rejects(client.mutation(api._test.panic, {}), (e) => e.data?.code === "INTERNAL_ERROR" && !/deliberate/.test(e.message));
    const listId = uniq("after-errors");
    await client.mutation(api._test.addItem, { listId, text: "still fine" });
    assert.equal(await client.query(api._test.countItems, { listId }), 1);
  } finally {
    await client.close();
  }
});

test("a mutation re-sent after a dropped connection runs once", async () => {
  const client = newClient();
  try {
    const listId = uniq("drop");
    const w = watch(client, api._test.countItems, { listId });
    await waitFor(() => w.latest === 0, "initial count");
    // The server commits, then closes the socket before answering: the
    // client must replay the mutation with the same (sessionId, requestId)
    // on the next socket and get the stored result.
    const id = await client.mutation(api._test.addItemThenDrop, { listId, text: "once" });
    assert.equal(typeof id, "string");
    assert.equal(w.latest, 1);
    const items = await http.query(api._test.listItems, { listId });
    assert.equal(items.length, 1, "the mutation ran more than once");
    assert.equal(items[0]._id, id, "the replay returned another result than the first run");
    assert.match(server.logs(), /closing connection/);
  } finally {
    await client.close();
  }
});

test("server-side socket close: the client reconnects and still gets later updates", async () => {
  const client = newClient();
  try {
    const listId = uniq("reconnect");
    const w = watch(client, api._test.countItems, { listId });
    await waitFor(() => w.latest === 0, "initial count");
    const before = w.values.length;
    await client.action(api._test.dropConnections, {});
    // The re-sent query set gets a fresh result on the new socket.
    await waitFor(() => w.values.length > before, "result after reconnect");
    await http.mutation(api._test.addItem, { listId, text: "later" });
    await waitFor(() => w.latest === 1, "update after reconnect");
    await client.mutation(api._test.addItem, { listId, text: "mine" });
    assert.equal(w.latest, 2);
  } finally {
    await client.close();
  }
});

test("setAuth with a valid token: onChange(true) and whoami", async () => {
  const client = newClient();
  try {
    const changes = [];
    const token = await http.action(api._test.mintToken, { subject: "agent-valid", ttlSeconds: 3600 });
    client.setAuth(async () => token, (ok) => changes.push(ok));
    const w = watch(client, api._test.whoami, {});
    await waitFor(() => w.latest?.subject === "agent-valid", "whoami as agent-valid");
    await waitFor(() => changes.includes(true), "onChange(true)");
    assert.ok(!changes.includes(false));
    // Logging out re-runs the query anonymously.
    client.client.clearAuth();
    await waitFor(() => w.latest === null, "whoami null after clearAuth");
  } finally {
    await client.close();
  }
});

test("setAuth with an expired token: onChange(false), queries run anonymously", async () => {
  const client = newClient();
  try {
    const changes = [];
    const token = await http.action(api._test.mintToken, { subject: "agent-expired", ttlSeconds: -60 });
    client.setAuth(async () => token, (ok) => changes.push(ok));
    const w = watch(client, api._test.whoami, {});
    await waitFor(() => changes.includes(false), "onChange(false)");
    assert.ok(!changes.includes(true));
    await waitFor(() => w.latest === null, "anonymous whoami");
    // The connection is usable after the AuthError.
    const listId = uniq("expired");
    await client.mutation(api._test.addItem, { listId, text: "x" });
    assert.equal(await client.query(api._test.countItems, { listId }), 1);
  } finally {
    await client.close();
  }
});

test("setAuth with a refreshed token: the client re-authenticates before expiry", async () => {
  const client = newClient();
  try {
    const changes = [];
    let fetches = 0;
    // Each fetch mints a token for a new subject with a 12 s lifetime: the
    // client confirms the first, immediately fetches a fresh one, and
    // refreshes again 10 s before expiry.
    client.setAuth(
      async () => http.action(api._test.mintToken, { subject: `agent-${++fetches}`, ttlSeconds: 12 }),
      (ok) => changes.push(ok),
    );
    const w = watch(client, api._test.whoami, {});
    await waitFor(() => w.latest?.subject === "agent-1" || w.latest?.subject === "agent-2", "first identity");
    await waitFor(() => fetches >= 3 && w.latest?.subject === `agent-${fetches}`, "identity from the refreshed token", 30000);
    assert.ok(changes.includes(true));
    assert.ok(!changes.includes(false), `onChange(false) during refresh: ${changes}`);
  } finally {
    await client.close();
  }
});

test("a result larger than the chunk threshold arrives whole", async () => {
  const client = newClient();
  try {
    const bytes = CHUNK * 5;
    const w = watch(client, api._test.big, { bytes });
    await waitFor(() => w.latest !== undefined, "big result");
    assert.ok(w.latest.payload.length > CHUNK * 4);
    const viaHttp = await http.query(api._test.big, { bytes });
    assert.equal(w.latest.length, viaHttp.length);
    assert.equal(w.latest.payload, viaHttp.payload);
    assert.deepEqual(w.errors, []);
  } finally {
    await client.close();
  }
});

test("ConvexHttpClient query, mutation and action, including errors", async () => {
  const listId = uniq("http");
  const id = await http.mutation(api._test.addItem, { listId, text: "a" });
  assert.equal(typeof id, "string");
  assert.equal(await http.query(api._test.countItems, { listId }), 1);
  assert.equal(await http.action(api._test.echo, { value: { nested: [1, "two", null] } }).then((v) => JSON.stringify(v)), JSON.stringify({ nested: [1, "two", null] }));
  assert.equal(typeof (await http.action(api._test.addViaAction, { listId, text: "b" })), "string");
  assert.equal(await http.query(api._test.countItems, { listId }), 2);
  for (const [kind, call] of [
    ["query", () => http.query(api._test.failQuery, { code: "NOT_FOUND", message: "q" })],
    ["mutation", () => http.mutation(api._test.fail, { code: "NOT_AUTHORIZED", message: "m" })],
    ["action", () => http.action(api._test.failAction, { code: "RATE_LIMITED", message: "a" })],
  ]) {
    await assert.rejects(call(), (e) => {
      assert.equal(e.name, "ConvexError", kind);
      assert.ok(["NOT_FOUND", "NOT_AUTHORIZED", "RATE_LIMITED"].includes(e.data.code), kind);
      return true;
    });
  }
  await assert.rejects(http.query(api._test.nothingHere, {}), /Could not find public function for '_test:nothingHere'/);
  await assert.rejects(http.mutation(api._test.addItemInternal, { listId, text: "x" }), /Could not find public function/);
  // A failed mutation wrote nothing.
  await assert.rejects(http.mutation(api._test.addItems, { listId, count: 5, failAfter: true }), (e) => e.data?.code === "INVALID_INPUT");
  assert.equal(await http.query(api._test.countItems, { listId }), 2);
  // A token is checked; a bad one is refused.
  const authed = new ConvexHttpClient(server.url);
  authed.setAuth(await http.action(api._test.mintToken, { subject: "http-agent", ttlSeconds: 600 }));
  assert.equal((await authed.query(api._test.whoami, {})).subject, "http-agent");
  authed.setAuth("garbage");
  await assert.rejects(authed.query(api._test.whoami, {}));
});

test("a paginated query stays gapless under inserts", async () => {
  const client = newClient();
  try {
    const listId = uniq("page");
    for (let i = 0; i < 7; i++) await http.mutation(api._test.addItem, { listId, text: `old-${i}` });
    const p1 = watch(client, api._test.pageItems, { listId, paginationOpts: { numItems: 3, cursor: null, id: 1 } });
    await waitFor(() => p1.latest, "page 1");
    assert.equal(p1.latest.page.length, 3);
    assert.equal(p1.latest.isDone, false);
    const p2 = watch(client, api._test.pageItems, { listId, paginationOpts: { numItems: 3, cursor: p1.latest.continueCursor, id: 2 } });
    await waitFor(() => p2.latest, "page 2");
    const p3 = watch(client, api._test.pageItems, { listId, paginationOpts: { numItems: 3, cursor: p2.latest.continueCursor, id: 3 } });
    await waitFor(() => p3.latest, "page 3");
    assert.equal(p3.latest.isDone, true);
    // Newest first: new items land in page 1, which grows instead of
    // pushing its last items out of every page.
    for (let i = 0; i < 4; i++) await client.mutation(api._test.addItem, { listId, text: `new-${i}` });
    await waitFor(() => p1.latest.page.length === 7, "page 1 grown to 7");
    const all = await http.query(api._test.listItems, { listId });
    const seen = [...p1.latest.page, ...p2.latest.page, ...p3.latest.page].map((d) => d._id);
    assert.equal(new Set(seen).size, seen.length, "an item appears on two pages");
    assert.deepEqual(seen.sort(), all.map((d) => d._id).sort(), "pages have a gap");
  } finally {
    await client.close();
  }
});
