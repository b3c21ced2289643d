// The package as a consumer sees it: `npm run build` output (dist/, ESM with .d.ts, the
// generated OpenAPI types beside them) imported by name, and a TypeScript consumer compiling.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL("../../", import.meta.url));

test("the built package imports by name and type-checks in a consumer", async () => {
  const tsc = join(PACKAGE, "node_modules", ".bin", "tsc");
  await run(tsc, ["-p", join(PACKAGE, "tsconfig.json")]); // what `npm run build` does, without npm
  cpSync(join(PACKAGE, "src", "generated"), join(PACKAGE, "dist", "generated"), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8"));
  assert.equal(manifest.type, "module");
  assert.deepEqual(Object.keys(manifest.dependencies), ["@noble/ed25519"]);
  const dir = mkdtempSync(join(tmpdir(), "tm-consumer-"));
  try {
    mkdirSync(join(dir, "node_modules", "@tracemark"), { recursive: true });
    symlinkSync(PACKAGE, join(dir, "node_modules", "@tracemark", "client"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(
      join(dir, "main.ts"),
      [
        'import { TracemarkClient, verifyCode, verifyWebhook, type VerifyResponse, type components } from "@tracemark/client";',
        'const client: TracemarkClient = new TracemarkClient({ baseUrl: "https://vt.example.vn" });',
        'const status: VerifyResponse["status"] = "genuine";',
        'const reason: components["schemas"]["Reason"] = { code: "x", message: "y", evidence: {} };',
        "console.log(typeof client.verify, typeof verifyCode, typeof verifyWebhook, status, reason.code);",
        "",
      ].join("\n"),
    );
    const flags = ["--strict", "--module", "NodeNext", "--moduleResolution", "NodeNext", "--target", "ES2022"];
    await run(tsc, [...flags, "--lib", "ES2022,DOM", "--outDir", dir, join(dir, "main.ts")]);
    const { stdout } = await run(process.execPath, [join(dir, "main.js")]);
    assert.equal(stdout.trim(), "function function function genuine x");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
