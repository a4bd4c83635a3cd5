// Reports the gzip size of the initial JS (the entry chunk and its static
// imports, as referenced by index.html) and of every chunk.
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
const html = readFileSync(join(dist, "index.html"), "utf8");
const initial = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]));
let initialGz = 0;
const rows = [];
for (const name of readdirSync(join(dist, "assets")).sort()) {
  const buf = readFileSync(join(dist, "assets", name));
  const gz = gzipSync(buf, { level: 9 }).length;
  const isInitial = initial.has("assets/" + name);
  if (isInitial && name.endsWith(".js")) initialGz += gz;
  rows.push(`${isInitial ? "*" : " "} ${name.padEnd(40)} ${String(buf.length).padStart(8)} B  ${String(gz).padStart(7)} B gzip`);
}
console.log(rows.join("\n"));
console.log(`initial JS (gzip): ${(initialGz / 1024).toFixed(1)} KiB  (* = loaded by index.html)`);
