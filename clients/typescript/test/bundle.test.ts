// Offline item bundles against the Python core (test/vectors.json, "item_bundles", made by
// tests/clients/typescript_vectors.py from the story of tests/bundles.py with TEST ONLY keys):
// the good bundles verify with the same summary, and every tampering fails the same checks.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { verifyBundle, rootFromInclusionProof } from "../src/index.js";

interface Case {
  name: string;
  bundle: Record<string, unknown>;
  log_key: string;
  witnesses: string[];
  quorum: number;
  now: number;
  ok: boolean;
  failed: string[];
  summary: Record<string, unknown> | null;
}

const vectors = JSON.parse(readFileSync(new URL("../../test/vectors.json", import.meta.url), "utf8")) as {
  item_bundles: { cases: Case[]; not_bundles: string[] };
};

for (const c of vectors.item_bundles.cases) {
  test(`item bundle ${c.name}: ${c.ok ? "verifies" : `fails ${c.failed.join(", ")}`} as in Python`, async () => {
    const result = await verifyBundle(c.bundle, { logKey: c.log_key, witnesses: c.witnesses, quorum: c.quorum, now: c.now });
    assert.equal(result.ok, c.ok, JSON.stringify(result.checks));
    assert.deepEqual(
      result.checks.filter((k) => k.result === "failed").map((k) => k.name).sort(),
      c.failed,
    );
    assert.deepEqual(result.summary, c.summary);
    assert.match(result.scope, /^as of checkpoint \d+: .* cannot prove that no other entry exists/);
  });
}

test("a good bundle passes from its text too, and names the witnesses", async () => {
  const good = vectors.item_bundles.cases[0]!;
  const result = await verifyBundle(JSON.stringify(good.bundle), {
    logKey: good.log_key,
    witnesses: good.witnesses,
    quorum: 2,
    now: good.now,
  });
  assert.equal(result.ok, true);
  assert.deepEqual(result.witnesses, ["w1.example", "w2.example"]);
  assert.equal(result.summary?.status, "sold");
  assert.equal(result.summary?.recalled, true);
});

for (const text of vectors.item_bundles.not_bundles) {
  test(`${JSON.stringify(text)} is not a bundle: invalid_bundle`, async () => {
    const good = vectors.item_bundles.cases[0]!;
    await assert.rejects(verifyBundle(text, { logKey: good.log_key, now: good.now }), (error: { code: string }) => {
      assert.equal(error.code, "invalid_bundle");
      return true;
    });
  });
}

test("a quorum above the witnesses given is refused", async () => {
  const good = vectors.item_bundles.cases[0]!;
  await assert.rejects(verifyBundle(good.bundle, { logKey: good.log_key, witnesses: good.witnesses, quorum: 3 }));
});

test("an inclusion proof of the wrong length is refused", async () => {
  const leaf = new Uint8Array(32);
  await assert.rejects(rootFromInclusionProof(0, 2, leaf, []), /too short/);
  await assert.rejects(rootFromInclusionProof(0, 1, leaf, [leaf]), /too long/);
  await assert.rejects(rootFromInclusionProof(2, 2, leaf, [leaf]), /not below/);
  assert.equal((await rootFromInclusionProof(0, 1, leaf, [])).length, 32);
});
