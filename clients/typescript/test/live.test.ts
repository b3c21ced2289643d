// Against a real Tracemark server: tests/clients/test_typescript.py starts one over a small
// supply chain and names it in TRACEMARK_TS_LIVE (a JSON file: base URL, codes, API key, log
// key). Without it these tests are skipped (run `make test` or that pytest file).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { TracemarkClient, TracemarkError, verifyCode } from "../src/index.js";

interface Live {
  base: string;
  api_key: string;
  platform: string;
  listing: string;
  seller: string;
  log_key: string;
  genuine: string;
  recalled: string;
  counterfeit: string;
  item: { gtin: string; serial: string };
}

const where = process.env.TRACEMARK_TS_LIVE;
const live = where ? (JSON.parse(readFileSync(where, "utf8")) as Live) : undefined;
const skip = live === undefined ? "TRACEMARK_TS_LIVE is not set: no live server (run tests/clients/test_typescript.py)" : false;
const PACKAGE = fileURLToPath(new URL("../../", import.meta.url));

test("verify: genuine, recalled and counterfeit codes get the server's verdicts", { skip }, async () => {
  const client = new TracemarkClient({ baseUrl: live!.base });
  const genuine = await client.verify(live!.genuine);
  assert.equal(genuine.status, "genuine");
  assert.equal(genuine.source, "anonymous");
  assert.ok(genuine.reasons.some((r) => r.code === "custody_verified"));
  assert.ok(genuine.proof && genuine.proof.tree_size > 0);
  assert.equal((await client.verify(live!.recalled)).status, "recalled");
  const fake = await client.verify(live!.counterfeit);
  assert.equal(fake.status, "counterfeit");
  assert.ok(fake.reasons.some((r) => r.code === "not_commissioned"));
});

test("a platform key vouches for the context; a wrong key is a 401 problem", { skip }, async () => {
  const keyed = new TracemarkClient({ baseUrl: live!.base, apiKey: live!.api_key });
  const verdict = await keyed.verify(live!.genuine, { platform: live!.platform, listing_id: live!.listing });
  assert.equal(verdict.source, "platform");
  const wrong = new TracemarkClient({ baseUrl: live!.base, apiKey: live!.api_key.slice(0, -2) + "xx" });
  await assert.rejects(wrong.verify(live!.genuine), (error: unknown) => {
    assert.ok(error instanceof TracemarkError);
    assert.equal(error.status, 401);
    assert.equal(error.code, "api_key_invalid");
    assert.ok(error.requestId);
    return true;
  });
});

test("batch verify and listings verify", { skip }, async () => {
  const client = new TracemarkClient({ baseUrl: live!.base, apiKey: live!.api_key });
  const batch = await client.verifyBatch([live!.genuine, live!.counterfeit, "junk"]);
  assert.deepEqual(
    batch.results.map((r) => r.status),
    ["genuine", "counterfeit", "invalid"],
  );
  const listings = await client.verifyListings([
    { seller: live!.seller, platform: live!.platform, listing_id: live!.listing, gtin: live!.item.gtin, quantity: 1, codes: [live!.genuine] },
  ]);
  assert.equal(listings.results.length, 1);
  assert.equal(listings.results[0]!.listing_id, live!.listing);
  assert.equal(listings.results[0]!.status, "genuine");
  await assert.rejects(new TracemarkClient({ baseUrl: live!.base }).verifyListings([]), { code: "api_key_required", status: 401 });
});

test("item lookup, and a problem for an unknown item", { skip }, async () => {
  const client = new TracemarkClient({ baseUrl: live!.base });
  const item = await client.item(live!.item.gtin, live!.item.serial);
  assert.equal(item.gtin, live!.item.gtin);
  assert.equal(item.serial, live!.item.serial);
  await assert.rejects(client.item(live!.item.gtin, "NOPE999"), { status: 404 });
  await assert.rejects(client.item("123", "A"), (error: TracemarkError) => error.status >= 400 && error.status < 500);
});

test("the served trust bundle verifies offline the codes the server issued", { skip }, async () => {
  const client = new TracemarkClient({ baseUrl: live!.base });
  const bundle = await client.trustBundle({ logKey: live!.log_key });
  assert.ok(bundle.checkpoint.treeSize > 0n);
  assert.equal(bundle.checkpoint.note, await client.checkpoint());
  const verdict = await verifyCode(live!.genuine, bundle);
  assert.equal(verdict.status, "unverified");
  assert.deepEqual(verdict.reasons.map((r) => r.code), ["signature_valid"]);
  assert.match(verdict.checked, /^signed by .+; not checked against the ledger$/);
  // Offline, a never-commissioned code with a valid signature cannot be told apart...
  assert.equal((await verifyCode(live!.counterfeit, bundle)).status, "unverified");
  // ...but a tampered one can.
  const tampered = live!.genuine.replace(/\/21\/([^/?]+)/, "/21/$1X");
  assert.equal((await verifyCode(tampered, bundle)).status, "counterfeit");
  const otherLog = live!.log_key.replace(/^[^+]+/, "other.example/log");
  await assert.rejects(client.trustBundle({ logKey: otherLog }), { code: "invalid_log_key" });
});

test("openapi-typescript regenerates the types from the served OpenAPI and they compile", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "tm-openapi-"));
  try {
    const out = join(dir, "openapi.d.ts");
    const bin = join(PACKAGE, "node_modules", ".bin");
    execFileSync(join(bin, "openapi-typescript"), [`${live!.base}/openapi.json`, "-o", out], { stdio: "pipe" });
    const generated = readFileSync(out, "utf8");
    for (const id of ["verifyCode", "verifyBatch", "verifyListings", "getItem", "getTrustBundle"]) {
      assert.match(generated, new RegExp(`\\b${id}: \\{`), id);
    }
    // The client's own sources must compile against the fresh types as they do against the
    // committed copy: a change to a schema the client uses fails here. (A cosmetic drift, such
    // as a new description, does not; `npm run generate` refreshes the committed copy.)
    cpSync(join(PACKAGE, "src"), join(dir, "src"), { recursive: true });
    cpSync(out, join(dir, "src", "generated", "openapi.d.ts"));
    symlinkSync(join(PACKAGE, "node_modules"), join(dir, "node_modules"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ extends: join(PACKAGE, "tsconfig.json"), compilerOptions: { rootDir: "src", noEmit: true }, include: ["src"] }),
    );
    try {
      execFileSync(join(bin, "tsc"), ["-p", join(dir, "tsconfig.json")], { stdio: "pipe", encoding: "utf8" });
    } catch (error) {
      assert.fail(`the client does not compile against the served OpenAPI:\n${(error as { stdout?: string }).stdout ?? error}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
