// Build the /scan page's browser files into api/http/static/scan (docs/decisions.md, 38).
//
//   node build.mjs           bundle src/scan.ts and src/sw.ts (with the TypeScript client's
//                            offline verification, from clients/typescript/src), copy the
//                            zxing-cpp .wasm and the icons, write the licence notices and
//                            build.json (the hash of every input and of every output)
//   node build.mjs --check   build into a temporary directory and fail if anything differs
//                            from what is committed (the served bundle is stale)
//
// The inputs hash is what tests/pages/test_scan_bundle.py recomputes in Python: sha256 over
// "path\0sha256(content)\n" for every file under api/http/web (not node_modules) and
// clients/typescript/src (not generated/), paths relative to the repository, sorted.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const web = dirname(fileURLToPath(import.meta.url));
const repo = join(web, "..", "..", "..");
const target = join(repo, "api", "http", "static", "scan");
const modules = join(web, "node_modules");
const SKIP = new Set(["node_modules", "generated"]);

function walk(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

const sha256 = (data) => createHash("sha256").update(data).digest("hex");

export function inputsHash() {
  const files = [...walk(web), ...walk(join(repo, "clients", "typescript", "src"))]
    .map((path) => relative(repo, path).split(sep).join("/"))
    .sort();
  const lines = files.map((path) => `${path}\0${sha256(readFileSync(join(repo, path)))}\n`);
  return sha256(lines.join(""));
}

// zxing-wasm's default locateFile points at a CDN; the built file must not even name it.
const localWasm = {
  name: "zxing-wasm-local",
  setup(build) {
    build.onLoad({ filter: /zxing-wasm[\\/]dist[\\/]es[\\/]share\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const cdn = /`https:\/\/fastly\.jsdelivr\.net\/npm\/zxing-wasm@[^`]*`/;
      if (!cdn.test(source)) throw new Error("zxing-wasm no longer names its CDN as expected: review build.mjs");
      return { contents: source.replace(cdn, "`/scan/assets/${e}`"), loader: "js" };
    });
  },
};

async function build(out) {
  mkdirSync(out, { recursive: true });
  const inputs = inputsHash();
  const common = {
    bundle: true,
    minify: true,
    legalComments: "none",
    target: ["es2020"],
    nodePaths: [modules],
    logLevel: "warning",
    plugins: [localWasm],
    define: { BUILD: JSON.stringify(inputs.slice(0, 16)) },
  };
  await esbuild.build({ ...common, entryPoints: [join(web, "src", "scan.ts")], outfile: join(out, "scan.js"), format: "iife" });
  await esbuild.build({ ...common, entryPoints: [join(web, "src", "sw.ts")], outfile: join(out, "sw.js"), format: "iife" });
  copyFileSync(join(modules, "zxing-wasm", "dist", "reader", "zxing_reader.wasm"), join(out, "zxing_reader.wasm"));
  for (const size of [192, 512]) copyFileSync(join(web, "icons", `icon-${size}.png`), join(out, `icon-${size}.png`));
  const lock = JSON.parse(readFileSync(join(web, "package-lock.json"), "utf8"));
  const version = (name) => lock.packages[`node_modules/${name}`].version;
  const notices = [
    "Third-party software in the files of this directory (built by api/http/web/build.mjs).",
    "",
    `== zxing-wasm ${version("zxing-wasm")} (scan.js, zxing_reader.wasm): MIT ==`,
    readFileSync(join(modules, "zxing-wasm", "LICENSE"), "utf8"),
    `== zxing-cpp (zxing_reader.wasm): Apache-2.0 ==`,
    readFileSync(join(web, "licenses", "zxing-cpp.txt"), "utf8"),
    `== @noble/ed25519 ${version("@noble/ed25519")} (scan.js): MIT ==`,
    readFileSync(join(modules, "@noble", "ed25519", "LICENSE"), "utf8"),
  ];
  writeFileSync(join(out, "THIRD_PARTY_NOTICES.txt"), notices.join("\n"));
  const outputs = {};
  for (const name of readdirSync(out).sort()) if (name !== "build.json") outputs[name] = sha256(readFileSync(join(out, name)));
  writeFileSync(join(out, "build.json"), JSON.stringify({ inputs, outputs }, null, 2) + "\n");
  return outputs;
}

if (process.argv.includes("--check")) {
  const scratch = mkdtempSync(join(tmpdir(), "tracemark-scan-"));
  try {
    await build(scratch);
    const fresh = readFileSync(join(scratch, "build.json"), "utf8");
    const served = readFileSync(join(target, "build.json"), "utf8");
    if (fresh !== served) {
      console.error("api/http/static/scan is stale: run `npm --prefix api/http/web run build` and commit it");
      process.exit(1);
    }
    console.log("api/http/static/scan is up to date");
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
} else {
  rmSync(target, { recursive: true, force: true });
  await build(target);
  console.log(`built ${relative(repo, target)}`);
}
