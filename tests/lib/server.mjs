// Starts a real `opencom serve` for a test: builds the binary once (Go's
// build cache makes repeats cheap), picks a free loopback port, uses a fresh
// data directory, and stops the process (SIGTERM) when asked.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const binary = join(repo, "tests", ".bin", "opencom");
let built = false;

export function buildBinary() {
  if (built) return binary;
  mkdirSync(dirname(binary), { recursive: true });
  execFileSync("go", ["build", "-o", binary, "."], { cwd: repo, stdio: "inherit", env: { ...process.env, CGO_ENABLED: "0" } });
  built = true;
  return binary;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @param {{args?: string[], env?: Record<string,string>, testMode?: boolean, dataDir?: string}} opts
 * @returns {Promise<{url: string, port: number, dataDir: string, logs: () => string, stop: () => Promise<number>, kill: () => void}>}
 */
export async function startServer(opts = {}) {
  buildBinary();
  const port = await freePort();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "opencom-test-"));
  const args = ["serve", "--addr", `127.0.0.1:${port}`, "--data-dir", dataDir, ...(opts.testMode === false ? [] : ["--test-mode"]), ...(opts.args ?? [])];
  const proc = spawn(binary, args, { env: { ...process.env, ...(opts.env ?? {}) }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      const r = await fetch(url + "/healthz");
      if (r.ok) break;
    } catch {}
    if (proc.exitCode !== null) throw new Error("opencom exited early:\n" + out);
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error("opencom did not become healthy:\n" + out);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    dataDir,
    logs: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const code = await exited;
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
    kill() {
      proc.kill("SIGKILL");
    },
  };
}
