// Builds the widget into an output directory (default dist/):
//   widget.js        the loader (IIFE, tiny, served no-cache at /widget.js)
//   app-<hash>.js    the messenger, injected lazily by the loader from /widget/
// esbuild output is deterministic for the same sources and esbuild version, so
// `node build.mjs --check` rebuilds into a temp dir and diffs against dist/.
import * as esbuild from "esbuild";
import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes("--check");
const outArg = process.argv.slice(2).find((a) => !a.startsWith("--"));
const outDir = check ? mkdtempSync(join(tmpdir(), "opencom-widget-")) : join(here, outArg ?? "dist");

const common = {
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2019", "chrome80", "firefox78", "safari13"],
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
  absWorkingDir: here,
  loader: { ".css": "text" },
};

async function build() {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const app = await esbuild.build({
    ...common,
    entryPoints: { app: "src/app.ts" },
    entryNames: "[name]-[hash]",
    globalName: "__opencomWidgetApp",
    outdir: outDir,
    metafile: true,
    write: true,
  });
  const appFile = basename(Object.keys(app.metafile.outputs).find((f) => f.endsWith(".js")));
  await esbuild.build({
    ...common,
    entryPoints: ["src/loader.ts"],
    outfile: join(outDir, "widget.js"),
    define: { __APP_FILE__: JSON.stringify(appFile) },
  });
  return appFile;
}

const appFile = await build();
const size = (f) => {
  const b = readFileSync(join(outDir, f));
  return { bytes: b.length, gzip: gzipSync(b, { level: 9 }).length };
};
const loader = size("widget.js");
const app = size(appFile);
console.log(`widget.js   ${loader.bytes} B, ${loader.gzip} B gzip`);
console.log(`${appFile}  ${app.bytes} B, ${app.gzip} B gzip`);
console.log(`full widget ${loader.gzip + app.gzip} B gzip`);
let failed = false;
if (loader.gzip > 5 * 1024) (failed = true), console.error("loader exceeds 5 KB gzip");
if (loader.gzip + app.gzip > 60 * 1024) (failed = true), console.error("widget exceeds 60 KB gzip");

if (check) {
  const dist = join(here, "dist");
  const a = readdirSync(outDir).sort();
  const b = readdirSync(dist).sort();
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    failed = true;
    console.error(`dist/ differs: built ${a.join(",")} but committed ${b.join(",")}`);
  } else {
    for (const f of a) {
      if (!readFileSync(join(outDir, f)).equals(readFileSync(join(dist, f)))) {
        failed = true;
        console.error(`dist/${f} differs from a fresh build: run npm run build and commit dist/`);
      }
    }
  }
  rmSync(outDir, { recursive: true, force: true });
  if (!failed) console.log("dist/ is up to date");
}
if (failed) process.exit(1);
