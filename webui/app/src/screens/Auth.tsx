import { useState, type FormEvent } from "react";
import { useAuthActions } from "@convex-dev/auth/react";
import type { ConvexReactClient } from "convex/react";
import { ConnectionBadge, ErrorNote, Loading, useRunner } from "../ui";

type Mode = "signIn" | "setup" | "invite";

export default function AuthScreen({ firstRun, client }: { firstRun: boolean | undefined; client: ConvexReactClient }) {
  const params = new URLSearchParams(window.location.search);
  const invited = window.location.pathname.startsWith("/invite") ? params.get("email") ?? "" : "";
  const [chosen, setChosen] = useState<Mode | null>(invited ? "invite" : null);
  if (firstRun === undefined && !chosen) return <Loading label="Connecting to the server…" />;
  const mode: Mode = chosen ?? (firstRun ? "setup" : "signIn");
  return (
    <div className="center-page">
      <div className="card auth-card">
        <div className="brand big">
          <span className="logo">O</span> Opencom
        </div>
        <AuthForm key={mode} mode={mode} invitedEmail={invited} />
        {mode === "signIn" && (
          <p className="muted small-text">
            Invited by a teammate?{" "}
            <button className="link" onClick={() => setChosen("invite")}>
              Create your account
            </button>
          </p>
        )}
        {mode === "invite" && (
          <p className="muted small-text">
            Already have an account?{" "}
            <button className="link" onClick={() => setChosen("signIn")}>
              Sign in
            </button>
          </p>
        )}
        <div className="auth-foot">
          <ConnectionBadge client={client} />
        </div>
      </div>
    </div>
  );
}

function AuthForm({ mode, invitedEmail }: { mode: Mode; invitedEmail: string }) {
  const { signIn } = useAuthActions();
  const { error, busy, run } = useRunner();
  const [name, setName] = useState("");
  const [email, setEmail] = useState(invitedEmail);
  const [password, setPassword] = useState("");
  const [workspaceName, setWorkspaceName] = useState("");

  async function submit(e: FormEvent) {
    e.preventDefault();
    await run(async () => {
      const params: Record<string, string> = { email: email.trim(), password, flow: mode === "signIn" ? "signIn" : "signUp" };
      if (mode !== "signIn" && name.trim()) params.name = name.trim();
      if (mode === "setup") params.workspaceName = workspaceName.trim();
      const r = await signIn("password", params);
      if (r && r.signingIn === false && !r.redirect) throw new Error("Sign-in did not complete. Check your email and password.");
      if (window.location.pathname !== "/") history.replaceState(null, "", "/inbox");
    });
  }

  return (
    <form onSubmit={submit} aria-label={mode === "setup" ? "Set up Opencom" : mode === "invite" ? "Create your account" : "Sign in"}>
      {mode === "setup" && (
        <>
          <h1>Welcome to Opencom</h1>
          <p className="muted">This server has no accounts yet. Create the owner account and your workspace.</p>
        </>
      )}
      {mode === "signIn" && <h1>Sign in</h1>}
      {mode === "invite" && (
        <>
          <h1>Create your account</h1>
          <p className="muted">Use the email address your invitation was sent to.</p>
        </>
      )}
      {mode !== "signIn" && (
        <label>
          Your name
          <input name="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
      )}
      {mode === "setup" && (
        <label>
          Workspace name
          <input name="workspaceName" required value={workspaceName} onChange={(e) => setWorkspaceName(e.target.value)} placeholder="Acme Support" />
        </label>
      )}
      <label>
        Email
        <input name="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete={mode === "signIn" ? "current-password" : "new-password"}
          required
          minLength={mode === "signIn" ? undefined : 8}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <ErrorNote error={error} />
      <button type="submit" className="wide" disabled={busy}>
        {busy ? "Please wait…" : mode === "setup" ? "Create owner account" : mode === "invite" ? "Create account" : "Sign in"}
      </button>
    </form>
  );
}
