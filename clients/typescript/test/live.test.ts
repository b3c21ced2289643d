// Against a real Tracemark server: tests/clients/test_typescript.py starts one over a small
// supply chain and names it in TRACEMARK_TS_LIVE (a JSON file: base URL, codes, API key, log
// key). Without it these tests are skipped (run `make test` or that pytest file).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { TracemarkClient, TracemarkError, verifyCode, verifyWebhook } from "../src/index.js";

interface Live {
  base: string;
  api_key: string;
  platform: string;
  listing: string;
  seller: string;
  other_seller: string;
  log_key: string;
  genuine: string;
  recalled: string;
  counterfeit: string;
  item: { gtin: string; serial: string };
}

const where = process.env.TRACEMARK_TS_LIVE;
const live = where ? (JSON.parse(readFileSync(where, "utf8")) as Live) : undefined;
const skip = live === undefined ? "TRACEMARK_TS_LIVE is not set: no live server (run tests/clients/test_typescript.py)" : false;
// Asynchronous on purpose: a blocked event loop lets the server close idle keep-alive
// connections unseen, and the next request would pick up a dead one.
const run = promisify(execFile);
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

test("openapi-typescript regenerates the types from the served OpenAPI and they compile", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tm-openapi-"));
  try {
    const out = join(dir, "openapi.d.ts");
    const bin = join(PACKAGE, "node_modules", ".bin");
    await run(join(bin, "openapi-typescript"), [`${live!.base}/openapi.json`, "-o", out]);
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
      await run(join(bin, "tsc"), ["-p", join(dir, "tsconfig.json")]);
    } catch (error) {
      assert.fail(`the client does not compile against the served OpenAPI:\n${(error as { stdout?: string }).stdout ?? error}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a real delivery from the server verifies with verifyWebhook", { skip }, async (t) => {
  const received: { headers: Record<string, string | string[] | undefined>; body: Buffer }[] = [];
  const receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({ headers: req.headers, body: Buffer.concat(chunks) });
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  t.after(() => receiver.close());
  receiver.keepAliveTimeout = 100;
  const port = (receiver.address() as AddressInfo).port;
  const client = new TracemarkClient({ baseUrl: live!.base, apiKey: live!.api_key });
  const hook = await client.createWebhook(`http://127.0.0.1:${port}/tracemark`, ["clone_suspected"]);
  try {
    assert.match(hook.secret, /^whsec_/);
    assert.ok((await client.listWebhooks()).webhooks.some((w) => w.id === hook.id));
    // The platform's key vouches for a seller who does not hold the item: a clone signal.
    const verdict = await client.verify(live!.genuine, { platform: live!.platform, seller: live!.other_seller, listing_id: "L-clone" });
    assert.equal(verdict.status, "suspect");
    const deadline = Date.now() + 20_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(received.length, 1, "no delivery within 20 s");
    const delivery = received[0]!;
    if (delivery.headers["webhook-signature"] === undefined) {
      t.skip("this server signs deliveries with X-Tracemark-Signature only (before Standard Webhooks)");
      return;
    }
    const verified = await verifyWebhook<{ type: string; platform: string }>(hook.secret, delivery.headers, delivery.body);
    assert.equal(verified.event.type, "clone_suspected");
    assert.equal(verified.event.platform, live!.platform);
    assert.equal(verified.id, delivery.headers["webhook-id"]);
    const tampered = Buffer.from(delivery.body.toString("utf8").replace("clone_suspected", "recall"));
    await assert.rejects(verifyWebhook(hook.secret, delivery.headers, tampered), { code: "webhook_signature" });
    const deliveries = await client.listDeliveries(hook.id);
    assert.equal(deliveries.deliveries[0]?.status, "delivered");
  } finally {
    await client.deleteWebhook(hook.id);
  }
});
