// Agent sign-in through the protocol @convex-dev/auth's client speaks:
// the same action calls with the same argument shapes as its
// ConvexAuthProvider (authenticatedCall = client.action on the socket
// client, unauthenticatedCall = a fresh ConvexHttpClient for refresh), and
// the real convex client's setAuth/fetchToken refresh cycle. The React
// provider itself needs a DOM renderer; the browser path is covered by the
// UI tests.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import { ConvexError } from "convex/values";
import { createRemoteJWKSet, jwtVerify, decodeJwt } from "jose";
import { startServer } from "../lib/server.mjs";

const api = anyApi;
let srv;
before(async () => {
  srv = await startServer({ testMode: false });
});
after(async () => {
  await srv?.stop();
});

// What ConvexAuthProvider does for signIn("password", {...}).
async function signIn(client, params, verifier) {
  return client.action(api.auth.signIn, { provider: "password", params, verifier });
}
// What its fetchAccessToken({forceRefreshToken: true}) does.
function refresh(refreshToken) {
  return new ConvexHttpClient(srv.url).action(api.auth.signIn, { refreshToken });
}

async function errorData(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ConvexError, `expected a ConvexError, got ${e}`);
    return e.data;
  }
  assert.fail("call succeeded but should have failed");
}

function nextValue(client, query, args, pred = () => true) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no matching value in time")), 10000);
    const unsub = client.onUpdate(query, args, (v) => {
      if (pred(v)) {
        clearTimeout(t);
        unsub();
        resolve(v);
      }
    });
  });
}

test("sign up, sign in, refresh, rotated-token reuse, wrong password, sign out", async () => {
  let socket = new ConvexClient(srv.url);
  try {
    assert.deepEqual(await socket.query(api.auth.setupStatus, {}), { needsSetup: true });

    // First sign-up on an empty server: owner of a new workspace.
    const up = await signIn(socket, { email: "Owner@Example.com", password: "correct horse", flow: "signUp", workspaceName: "Acme" });
    assert.equal(typeof up.tokens.token, "string");
    assert.equal(typeof up.tokens.refreshToken, "string");
    assert.deepEqual(await socket.query(api.auth.setupStatus, {}), { needsSetup: false });

    // The access token is an ES256 JWT verifiable with the published JWKS.
    const oidc = await (await fetch(srv.url + "/.well-known/openid-configuration")).json();
    const jwks = createRemoteJWKSet(new URL(oidc.jwks_uri.replace(/^https?:\/\/[^/]+/, srv.url)));
    const { payload, protectedHeader } = await jwtVerify(up.tokens.token, jwks, { audience: "convex" });
    assert.equal(protectedHeader.alg, "ES256");
    assert.match(payload.sub, /^[a-z0-9]{32}\|[a-z0-9]{32}$/);
    assert.ok(payload.exp - payload.iat <= 3600, "access tokens are short-lived");

    // The socket client authenticates with it, the way ConvexProviderWithAuth does.
    let currentRefresh = up.tokens.refreshToken;
    let currentToken = up.tokens.token;
    let forced = 0;
    let inflight = null;
    socket.setAuth(async ({ forceRefreshToken }) => {
      if (!forceRefreshToken) return currentToken;
      forced++;
      const r = await (inflight = refresh(currentRefresh));
      if (r.tokens === null) return null;
      currentToken = r.tokens.token;
      currentRefresh = r.tokens.refreshToken;
      return currentToken;
    });
    const me = await nextValue(socket, api.auth.currentUser, {}, (v) => v !== null);
    assert.equal(me.user.email, "owner@example.com");
    assert.equal(me.user.role, "owner");
    assert.equal(me.workspaces.length, 1);
    assert.equal(me.workspaces[0].name, "Acme");
    assert.equal(me.workspaces[0].role, "owner");

    // Refresh rotates: a new pair, and the new access token works. The
    // convex client force-refreshes right after its first token is
    // accepted; let that finish so this test does not race it (a race is
    // a reuse, which would revoke the session).
    for (let i = 0; i < 100 && forced === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await inflight;
    const rotated = currentRefresh;
    const r1 = await refresh(rotated);
    assert.ok(r1.tokens, "refresh returned tokens");
    assert.notEqual(r1.tokens.refreshToken, rotated);
    assert.equal(decodeJwt(r1.tokens.token).sub, payload.sub, "same user and session");
    const http = new ConvexHttpClient(srv.url);
    http.setAuth(r1.tokens.token);
    assert.equal((await http.query(api.auth.currentUser, {})).user.email, "owner@example.com");

    // Reusing the rotated refresh token revokes the whole session.
    await socket.close();
    socket = new ConvexClient(srv.url);
    assert.deepEqual(await refresh(rotated), { tokens: null });
    assert.deepEqual(await refresh(r1.tokens.refreshToken), { tokens: null });
    await assert.rejects(http.query(api.auth.currentUser, {}), /Could not verify token|Unauthenticated/);

    // Wrong password and unknown account: the same answer.
    const wrong = await errorData(signIn(socket, { email: "owner@example.com", password: "wrong horse", flow: "signIn" }));
    const unknown = await errorData(signIn(socket, { email: "nobody@example.com", password: "wrong horse", flow: "signIn" }));
    assert.equal(wrong.code, "NOT_AUTHENTICATED");
    assert.deepEqual(unknown, wrong);

    // Sign in again, then sign out as the provider does (action on the
    // authenticated socket); the token stops working at once.
    const again = await signIn(socket, { email: "owner@example.com", password: "correct horse", flow: "signIn" });
    const second = new ConvexClient(srv.url);
    try {
      second.setAuth(async () => again.tokens.token);
      assert.equal((await nextValue(second, api.auth.currentUser, {}, (v) => v !== null)).user.email, "owner@example.com");
      assert.equal(await second.action(api.auth.signOut, {}), null);
      const h2 = new ConvexHttpClient(srv.url);
      h2.setAuth(again.tokens.token);
      await assert.rejects(h2.query(api.auth.currentUser, {}), /Could not verify token|Unauthenticated/);
      assert.deepEqual(await refresh(again.tokens.refreshToken), { tokens: null });
    } finally {
      await second.close();
    }

    // Audit trail of the above, read by the owner with a fresh session.
    const fresh = await signIn(socket, { email: "owner@example.com", password: "correct horse", flow: "signIn" });
    const h3 = new ConvexHttpClient(srv.url);
    h3.setAuth(fresh.tokens.token);
    const ws = (await h3.query(api.auth.currentUser, {})).user.workspaceId;
    const actions = await h3.query(api.auditLogs.getActions, { workspaceId: ws });
    for (const a of ["auth.login", "auth.login.failed", "auth.logout"]) assert.ok(actions.includes(a), `${a} in ${actions}`);
  } finally {
    await socket.close();
  }
});

test("sign-in is rate limited per account", async () => {
  const http = new ConvexHttpClient(srv.url);
  await http.action(api.auth.signIn, { provider: "password", params: { email: "limited@example.com", password: "good password", flow: "signUp" } });
  for (let i = 0; i < 10; i++) {
    const d = await errorData(http.action(api.auth.signIn, { provider: "password", params: { email: "limited@example.com", password: "bad password", flow: "signIn" } }));
    assert.equal(d.code, "NOT_AUTHENTICATED");
  }
  const d = await errorData(http.action(api.auth.signIn, { provider: "password", params: { email: "limited@example.com", password: "good password", flow: "signIn" } }));
  assert.equal(d.code, "RATE_LIMITED");
});
