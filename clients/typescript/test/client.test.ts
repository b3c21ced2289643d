// The online client against a fetch double: retries, Retry-After, problems, timeouts.
import assert from "node:assert/strict";
import { test } from "node:test";

import { TracemarkClient, TracemarkError, retryAfterMs } from "../src/index.js";

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | "hang";

function fakeFetch(answers: Answer[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch = async (url: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    calls.push({ url: String(url), init });
    const answer = answers.shift();
    if (answer === undefined) throw new Error("no more answers");
    if (answer === "hang") {
      return new Promise((_, reject) => {
        init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    }
    const problem = answer.status >= 400;
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { "content-type": problem ? "application/problem+json" : "application/json", ...answer.headers },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

const VERDICT = { status: "genuine", source: "platform", reasons: [], item: {} };
const PROBLEM = (status: number, code: string) => ({
  type: "about:blank",
  title: "x",
  status,
  detail: `detail of ${code}`,
  code,
  error: { code, message: `detail of ${code}` },
});

test("verify posts the code and context with the API key and returns the verdict", async () => {
  const { fetch, calls } = fakeFetch([{ status: 200, body: VERDICT }]);
  const client = new TracemarkClient({ baseUrl: "https://vt.example.vn/", apiKey: "tmk_k", fetch });
  const verdict = await client.verify("https://vt.example.vn/01/x", { platform: "tiktok" });
  assert.deepEqual(verdict, VERDICT);
  assert.equal(calls[0]!.url, "https://vt.example.vn/v1/verify");
  assert.equal(calls[0]!.init.method, "POST");
  const headers = calls[0]!.init.headers as Record<string, string>;
  assert.equal(headers["X-API-Key"], "tmk_k");
  assert.deepEqual(JSON.parse(String(calls[0]!.init.body)), {
    code: "https://vt.example.vn/01/x",
    context: { platform: "tiktok" },
  });
});

test("429 and 503 are retried after Retry-After, then the answer is returned", async () => {
  const { fetch, calls } = fakeFetch([
    { status: 429, body: PROBLEM(429, "rate_limited"), headers: { "Retry-After": "0" } },
    { status: 503, body: PROBLEM(503, "storage_unavailable"), headers: { "Retry-After": "0" } },
    { status: 200, body: VERDICT },
  ]);
  const client = new TracemarkClient({ baseUrl: "http://h", fetch });
  assert.deepEqual(await client.verify("c"), VERDICT);
  assert.equal(calls.length, 3);
});

test("the retries end: the last problem is thrown as a TracemarkError with its code", async () => {
  const limited = { status: 429, body: PROBLEM(429, "rate_limited"), headers: { "Retry-After": "0", "X-Request-ID": "r-1" } };
  const { fetch, calls } = fakeFetch([limited, limited, limited]);
  const client = new TracemarkClient({ baseUrl: "http://h", fetch, retries: 2 });
  await assert.rejects(client.verify("c"), (error: unknown) => {
    assert.ok(error instanceof TracemarkError);
    assert.equal(error.code, "rate_limited");
    assert.equal(error.status, 429);
    assert.equal(error.message, "detail of rate_limited");
    assert.equal(error.requestId, "r-1");
    return true;
  });
  assert.equal(calls.length, 3);
});

test("a Retry-After beyond maxRetryDelayMs is not waited for", async () => {
  const { fetch, calls } = fakeFetch([{ status: 503, body: PROBLEM(503, "scan_busy"), headers: { "Retry-After": "120" } }]);
  const client = new TracemarkClient({ baseUrl: "http://h", fetch, maxRetryDelayMs: 1000 });
  await assert.rejects(client.verify("c"), { code: "scan_busy", status: 503 });
  assert.equal(calls.length, 1);
});

test("other errors are not retried; a body that is not a problem still gives a code", async () => {
  const { fetch, calls } = fakeFetch([{ status: 401, body: PROBLEM(401, "api_key_invalid") }, { status: 502 }]);
  const client = new TracemarkClient({ baseUrl: "http://h", fetch });
  await assert.rejects(client.verify("c"), { code: "api_key_invalid", status: 401 });
  await assert.rejects(client.item("08930001000018", "A/1"), { code: "http_502", status: 502 });
  assert.equal(calls.length, 2);
  assert.equal(calls[1]!.url, "http://h/v1/items/08930001000018/A%2F1");
});

test("the legacy error form is read when code and detail are missing", async () => {
  const { fetch } = fakeFetch([{ status: 404, body: { error: { code: "unknown_key", message: "no key" } } }]);
  const client = new TracemarkClient({ baseUrl: "http://h", fetch });
  await assert.rejects(client.key("ab"), { code: "unknown_key", message: "no key" });
});

test("an attempt that takes too long is a timeout error", async () => {
  const { fetch, calls } = fakeFetch(["hang", "hang"]);
  const client = new TracemarkClient({ baseUrl: "http://h", fetch, timeoutMs: 50, retries: 1, backoffMs: 1 });
  await assert.rejects(client.verify("c"), { code: "timeout" });
  assert.equal(calls.length, 2);
});

test("the caller's AbortSignal stops the call and its retries", async () => {
  const { fetch } = fakeFetch(["hang"]);
  const client = new TracemarkClient({ baseUrl: "http://h", fetch });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("user left")), 20);
  await assert.rejects(client.verify("c", {}, { signal: controller.signal }), { message: "user left" });
});

test("a network failure is a network_error, retried for verifications, not for webhook creation", async () => {
  let calls = 0;
  const fetch = (async () => {
    calls += 1;
    throw new TypeError("fetch failed");
  }) as typeof globalThis.fetch;
  const client = new TracemarkClient({ baseUrl: "http://h", fetch, retries: 2, backoffMs: 1 });
  await assert.rejects(client.verify("c"), { code: "network_error", status: 0 });
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(client.createWebhook("https://x.example/hook", ["recall"]), { code: "network_error" });
  assert.equal(calls, 1);
});

test("a lost connection then an answer: the verification succeeds", async () => {
  let calls = 0;
  const fetch = (async () => {
    calls += 1;
    if (calls === 1) throw new TypeError("fetch failed", { cause: new Error("other side closed") });
    return new Response(JSON.stringify(VERDICT), { status: 200, headers: { "content-type": "application/json" } });
  }) as typeof globalThis.fetch;
  const client = new TracemarkClient({ baseUrl: "http://h", fetch, backoffMs: 1 });
  assert.deepEqual(await client.verify("c"), VERDICT);
  assert.equal(calls, 2);
});

test("Retry-After: seconds or an HTTP date; a bad base URL is refused", () => {
  assert.equal(retryAfterMs("7"), 7000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000);
  assert.equal(retryAfterMs("soon"), null);
  assert.equal(retryAfterMs(null), null);
  assert.throws(() => new TracemarkClient({ baseUrl: "ftp://x" }), { code: "invalid_base_url" });
  assert.throws(() => new TracemarkClient({ baseUrl: "not a url" }), { code: "invalid_base_url" });
});
