// Standard Webhooks: the specification's published vector and the refusals a receiver needs.
import assert from "node:assert/strict";
import { test } from "node:test";

import { signWebhook, verifyWebhook } from "../src/index.js";

// From standard-webhooks/standard-webhooks (libraries/javascript/src/webhook.test.ts, "sign
// function works"): the same vector every reference library tests.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const NOW = TIMESTAMP * 1000;

function headers(signature = SIGNATURE, timestamp = String(TIMESTAMP)): Record<string, string> {
  return { "webhook-id": ID, "webhook-timestamp": timestamp, "webhook-signature": signature };
}

test("the specification's vector signs and verifies", async () => {
  assert.equal(await signWebhook(SECRET, ID, TIMESTAMP, BODY), SIGNATURE);
  const verified = await verifyWebhook(SECRET, headers(), BODY, { now: NOW });
  assert.deepEqual(verified, { id: ID, timestamp: TIMESTAMP, event: { test: 2432232314 } });
});

test("the secret works without its whsec_ prefix, the body as bytes, headers as Headers", async () => {
  const bytes = new TextEncoder().encode(BODY);
  const fetchHeaders = new Headers({ "Webhook-Id": ID, "Webhook-Timestamp": String(TIMESTAMP), "Webhook-Signature": SIGNATURE });
  await verifyWebhook(SECRET.slice(6), fetchHeaders, bytes, { now: NOW });
  await verifyWebhook(SECRET, { ...headers(), "webhook-signature": [SIGNATURE] }, BODY, { now: NOW });
});

test("one matching v1 signature among several passes (key rotation)", async () => {
  const list = ["v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", SIGNATURE].join(" ");
  await verifyWebhook(SECRET, headers(list), BODY, { now: NOW });
});

test("a changed body, id, timestamp or secret is refused", async () => {
  const cases: [string, Record<string, string>, string, string][] = [
    ["body", headers(), '{"test": 2432232315}', SECRET],
    ["id", { ...headers(), "webhook-id": "msg_other" }, BODY, SECRET],
    ["timestamp", headers(SIGNATURE, String(TIMESTAMP + 1)), BODY, SECRET],
    ["secret", headers(), BODY, "whsec_" + Buffer.from("another key").toString("base64")],
    ["v2 only", headers(SIGNATURE.replace("v1,", "v2,")), BODY, SECRET],
    ["truncated", headers(SIGNATURE.slice(0, 12)), BODY, SECRET],
    ["empty", headers("v1,"), BODY, SECRET],
  ];
  for (const [what, head, body, secret] of cases) {
    await assert.rejects(verifyWebhook(secret, head, body, { now: NOW }), { code: "webhook_signature" }, what);
  }
});

test("a timestamp outside the tolerance is a replay", async () => {
  await verifyWebhook(SECRET, headers(), BODY, { now: NOW + 300_000 });
  await verifyWebhook(SECRET, headers(), BODY, { now: NOW - 300_000 });
  await assert.rejects(verifyWebhook(SECRET, headers(), BODY, { now: NOW + 301_000 }), { code: "webhook_timestamp" });
  await assert.rejects(verifyWebhook(SECRET, headers(), BODY, { now: NOW - 301_000 }), { code: "webhook_timestamp" });
  await verifyWebhook(SECRET, headers(), BODY, { now: NOW + 3_600_000, toleranceSeconds: 3600 });
  await assert.rejects(verifyWebhook(SECRET, headers(SIGNATURE, "soon"), BODY, { now: NOW }), { code: "webhook_timestamp" });
});

test("missing headers and a malformed secret are refused", async () => {
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const head = headers();
    delete head[name];
    await assert.rejects(verifyWebhook(SECRET, head, BODY, { now: NOW }), { code: "webhook_headers_missing" }, name);
  }
  await assert.rejects(verifyWebhook("whsec_", headers(), BODY, { now: NOW }), { code: "webhook_secret" });
  await assert.rejects(verifyWebhook("", headers(), BODY, { now: NOW }), { code: "webhook_secret" });
});

test("a secret of the releases before Standard Webhooks keeps its key (its whole UTF-8 text)", async () => {
  const legacy = "whsec_Zm9v-YmFy_legacy-text";
  const standard = "whsec_" + Buffer.from(legacy, "utf8").toString("base64");
  const signature = await signWebhook(legacy, ID, TIMESTAMP, BODY);
  assert.equal(signature, await signWebhook(standard, ID, TIMESTAMP, BODY));
  assert.notEqual(signature, SIGNATURE);
  await verifyWebhook(legacy, headers(signature), BODY, { now: NOW });
  await assert.rejects(verifyWebhook(legacy, headers(), BODY, { now: NOW }), { code: "webhook_signature" });
});

test("a list of secrets (rotation): one match is enough, none is refused", async () => {
  const other = "whsec_" + Buffer.alloc(32, 7).toString("base64");
  await verifyWebhook([other, SECRET], headers(), BODY, { now: NOW });
  await assert.rejects(verifyWebhook([other], headers(), BODY, { now: NOW }), { code: "webhook_signature" });
  await assert.rejects(verifyWebhook([], headers(), BODY, { now: NOW }), { code: "webhook_secret" });
});
