// Offline verification against the Python core's verdicts (test/vectors.json, made by
// tests/clients/typescript_vectors.py with TEST ONLY keys) and docs/format.md's golden code.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as ed from "@noble/ed25519";

import { codeMessage, openTrustBundle, parseCode, verifyCode } from "../src/index.js";
import { keyIdOf } from "../src/ed25519.js";
import { toHex, toBase64Url, concat } from "../src/bytes.js";

interface Vectors {
  log_key: string;
  now: number;
  max_age_ms: number;
  bundle: string;
  codes: { name: string; code: string; status: string; reasons: string[]; item: Record<string, string> }[];
  bad_bundles: { name: string; bundle: string; error: string }[];
  golden: { seed_hex: string; identity: { gtin: string; serial: string }; digsig: string };
}

const vectors = JSON.parse(
  readFileSync(new URL("../../test/vectors.json", import.meta.url), "utf8"),
) as Vectors;
const options = { logKey: vectors.log_key, now: vectors.now, maxAgeMs: vectors.max_age_ms };

test("the bundle opens with the pinned log key and carries its checkpoint", async () => {
  const bundle = await openTrustBundle(vectors.bundle, options);
  assert.equal(bundle.origin, "vt.example.test/log");
  assert.equal(bundle.checkpoint.treeSize, 2n);
  assert.deepEqual(bundle.resolvers, ["https://vt.example.test"]);
  assert.deepEqual(bundle.producerOf("08930001000018"), { actorId: "fishco", name: "Fishco Phú Quốc" });
});

for (const vector of vectors.codes) {
  test(`code ${vector.name}: ${vector.status} ${vector.reasons.join(",")} as in Python`, async () => {
    const bundle = await openTrustBundle(vectors.bundle, options);
    const verdict = await verifyCode(vector.code, bundle);
    assert.equal(verdict.status, vector.status);
    assert.deepEqual(
      verdict.reasons.map((r) => r.code),
      vector.reasons,
    );
    assert.deepEqual(verdict.item, vector.item);
    if (verdict.status === "unverified") {
      assert.equal(verdict.checked, "signed by Fishco Phú Quốc; not checked against the ledger");
      assert.equal(verdict.signer?.actorId, "fishco");
    } else {
      assert.equal(verdict.signer, null);
    }
  });
}

for (const vector of vectors.bad_bundles) {
  test(`bundle ${vector.name} is refused with ${vector.error}`, async () => {
    await assert.rejects(openTrustBundle(vector.bundle, options), (error: { code: string }) => {
      assert.equal(error.code, vector.error);
      return true;
    });
  });
}

test("a bundle is refused when the pinned key is of another log or malformed", async () => {
  const other = vectors.log_key.replace(/^vt\.example\.test\/log\+/, "vt.example.test/other+");
  await assert.rejects(openTrustBundle(vectors.bundle, { ...options, logKey: other }), { code: "invalid_log_key" });
  await assert.rejects(openTrustBundle(vectors.bundle, { ...options, logKey: "junk" }), { code: "invalid_log_key" });
});

test("the bundle's age is judged at the given time", async () => {
  await openTrustBundle(vectors.bundle, { ...options, now: vectors.now + vectors.max_age_ms - 60_000 });
  await assert.rejects(
    openTrustBundle(vectors.bundle, { ...options, now: vectors.now + vectors.max_age_ms }),
    { code: "bundle_too_old" },
  );
});

test("docs/format.md golden code: message bytes, key id and signature", async () => {
  const seed = Uint8Array.from(Buffer.from(vectors.golden.seed_hex, "hex"));
  const publicKey = await ed.getPublicKeyAsync(seed);
  assert.equal(await keyIdOf(publicKey), "711b5288466f5ff5");
  const identity = { ...vectors.golden.identity, lot: "", expiry: "" };
  const message = codeMessage(identity);
  assert.equal(
    toHex(message),
    Buffer.from("tracemark/code/v1\x000108930001000018\x1d21FS0000000001\x1d", "latin1").toString("hex"),
  );
  const signature = await ed.signAsync(message, seed);
  assert.equal(toBase64Url(concat(new Uint8Array([1, 0x71]), signature)), vectors.golden.digsig);
  assert.ok(vectors.golden.digsig.startsWith("AXGuJZp0qxb8sdqiZ0NCRx2CA8r8uN"));
  const parsed = parseCode(`https://vt.example.vn/01/08930001000018/21/FS0000000001?8030=${vectors.golden.digsig}`);
  assert.equal(parsed.keyHint, 0x71);
  assert.deepEqual(parsed.identity, identity);
});
