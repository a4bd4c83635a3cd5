// Rebuilds the app into a temporary directory and fails if the result
// differs from the committed ../dist (builds must be deterministic).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");
const committed = join(app, "..", "dist");
const out = mkdtempSync(join(tmpdir(), "opencom-webui-"));

function walk(dir) {
  const files = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files.push(...walk(p));
    else files.push(p);
  }
  return files;
}

try {
  execFileSync("npx", ["vite", "build", "--logLevel", "warn"], {
    cwd: app,
    stdio: "inherit",
    env: { ...process.env, OPENCOM_WEBUI_OUT: out },
  });
  const a = new Map(walk(committed).map((f) => [relative(committed, f), f]));
  const b = new Map(walk(out).map((f) => [relative(out, f), f]));
  const problems = [];
  for (const [rel, f] of b) {
    if (!a.has(rel)) problems.push(`missing from webui/dist: ${rel}`);
    else if (!readFileSync(f).equals(readFileSync(a.get(rel)))) problems.push(`differs: ${rel}`);
  }
  for (const rel of a.keys()) if (!b.has(rel)) problems.push(`stale in webui/dist: ${rel}`);
  if (problems.length) {
    console.error("webui/dist does not match a fresh build (run `npm run build` in webui/app and commit):");
    for (const p of problems) console.error("  " + p);
    process.exitCode = 1;
  } else {
    console.log(`webui/dist matches a fresh build (${b.size} files)`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
