/**
 * The online client: Tracemark's HTTP API with typed answers (types generated from the
 * served OpenAPI by openapi-typescript, src/generated/openapi.d.ts), RFC 9457 problems as
 * ``TracemarkError``, retries on 429 and 503 honouring ``Retry-After`` (else exponential
 * backoff with full jitter) and, for reads and verifications only, on a lost connection or a
 * timeout; a timeout per attempt. Any ``fetch`` works (Node 20+, browsers, Deno, a test double).
 */

import type { components } from "./generated/openapi.js";
import { TracemarkError, type Problem } from "./errors.js";
import { type OpenOptions, type TrustBundle, openTrustBundle } from "./trust.js";

type Schemas = components["schemas"];
export type VerifyResponse = Schemas["VerifyResponse"];
export type BatchResponse = Schemas["BatchResponse"];
export type ListingsResponse = Schemas["ListingsResponse"];
export type ListingResult = Schemas["ListingResult"];
export type ItemOut = Schemas["ItemOut"];
export type ActorOut = Schemas["ActorOut"];
export type KeyOut = Schemas["KeyOut"];
export type ListingOut = Schemas["ListingOut"];
export type WebhookCreated = Schemas["WebhookCreated"];
export type WebhookList = Schemas["WebhookList"];
export type DeliveryList = Schemas["DeliveryList"];
export type Reason = Schemas["Reason"];
/** Where a code was seen; every field is optional (docs/api.md, ``POST /v1/verify``). */
export type Context = Partial<Schemas["Context"]>;
/** A listing to check; ``quantity`` defaults to 1. */
export type ListingInput = Omit<Schemas["ListingIn"], "quantity"> & { quantity?: number };

export interface ClientOptions {
  /** The server, e.g. ``https://vt.example.vn`` (no trailing path needed). */
  baseUrl: string;
  /** A platform API key (``tmk_...``), sent as ``X-API-Key``. */
  apiKey?: string;
  /** The fetch to use (default: ``globalThis.fetch``). */
  fetch?: typeof fetch;
  /** Milliseconds one attempt may take (default 10,000). */
  timeoutMs?: number;
  /** Retries after a 429 or 503, or a network error or timeout of a read or verify (default 3). */
  retries?: number;
  /** The longest wait between attempts, ms (default 30,000): a longer Retry-After fails. */
  maxRetryDelayMs?: number;
  /** The backoff when no Retry-After is given: up to this many ms (default 500), doubling. */
  backoffMs?: number;
}

export interface CallOptions {
  /** Abort the call (and its retries). */
  signal?: AbortSignal;
}

const RETRIED = new Set([429, 503]);
const VERIFICATIONS = new Set(["/v1/verify", "/v1/verify/batch", "/v1/listings/verify"]);

/** Seconds or an HTTP date, as ms from now; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function segment(value: string): string {
  return encodeURIComponent(value);
}

export class TracemarkClient {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #maxRetryDelayMs: number;
  readonly #backoffMs: number;

  constructor(options: ClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TracemarkError("invalid_base_url", `not a URL: ${String(options.baseUrl)}`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TracemarkError("invalid_base_url", "the base URL must be http:// or https://");
    }
    this.baseUrl = url.href.replace(/\/+$/, "");
    this.#apiKey = options.apiKey;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") throw new TracemarkError("no_fetch", "no fetch available: pass options.fetch");
    this.#fetch = fetchImpl.bind(globalThis);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 3;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.#backoffMs = options.backoffMs ?? 500;
  }

  /** The full verdict of one code in its context (``POST /v1/verify``, operation ``verifyCode``). */
  verify(code: string, context: Context = {}, options: CallOptions = {}): Promise<VerifyResponse> {
    return this.#json("POST", "/v1/verify", { code, context }, options);
  }

  /** Up to 1,000 codes seen in one context (``POST /v1/verify/batch``): one verdict per code. */
  verifyBatch(codes: string[], context: Context = {}, options: CallOptions = {}): Promise<BatchResponse> {
    return this.#json("POST", "/v1/verify/batch", { codes, context }, options);
  }

  /** Check listings: seller, stock, recalls, codes (``POST /v1/listings/verify``; needs an API key). */
  verifyListings(listings: ListingInput[], options: CallOptions = {}): Promise<ListingsResponse> {
    return this.#json("POST", "/v1/listings/verify", { listings }, options);
  }

  /** An item's record: custody, status, timeline (``GET /v1/items/{gtin}/{serial}``). */
  item(gtin: string, serial: string, options: CallOptions = {}): Promise<ItemOut> {
    return this.#json("GET", `/v1/items/${segment(gtin)}/${segment(serial)}`, undefined, options);
  }

  /** A registered actor (``GET /v1/actors/{actor_id}``). */
  actor(actorId: string, options: CallOptions = {}): Promise<ActorOut> {
    return this.#json("GET", `/v1/actors/${segment(actorId)}`, undefined, options);
  }

  /** A registered key with its revocations (``GET /v1/keys/{key_id}``). */
  key(keyId: string, options: CallOptions = {}): Promise<KeyOut> {
    return this.#json("GET", `/v1/keys/${segment(keyId)}`, undefined, options);
  }

  /** A listing declared in the ledger (``GET /v1/listings/{platform}/{listing_id}``). */
  listing(platform: string, listingId: string, options: CallOptions = {}): Promise<ListingOut> {
    return this.#json("GET", `/v1/listings/${segment(platform)}/${segment(listingId)}`, undefined, options);
  }

  /** The log's latest signed checkpoint (a C2SP signed note). */
  async checkpoint(options: CallOptions = {}): Promise<string> {
    return (await this.#request("GET", "/v1/log/checkpoint", undefined, options, "text/plain")).text();
  }

  /** The trust bundle file as served (``GET /v1/trust``), to store for offline use. */
  async trustBundleText(options: CallOptions = {}): Promise<string> {
    return (await this.#request("GET", "/v1/trust", undefined, options)).text();
  }

  /** Fetch the trust bundle and verify it against the pinned log key (``openTrustBundle``). */
  async trustBundle(open: OpenOptions, options: CallOptions = {}): Promise<TrustBundle> {
    return openTrustBundle(await this.trustBundleText(options), open);
  }

  /** Register a webhook; the answer's ``secret`` is shown only this once. */
  createWebhook(url: string, events: string[], options: CallOptions = {}): Promise<WebhookCreated> {
    return this.#json("POST", "/v1/webhooks", { url, events }, options);
  }

  listWebhooks(options: CallOptions = {}): Promise<WebhookList> {
    return this.#json("GET", "/v1/webhooks", undefined, options);
  }

  async deleteWebhook(webhookId: string, options: CallOptions = {}): Promise<void> {
    await this.#request("DELETE", `/v1/webhooks/${segment(webhookId)}`, undefined, options);
  }

  listDeliveries(webhookId: string, limit = 50, options: CallOptions = {}): Promise<DeliveryList> {
    return this.#json("GET", `/v1/webhooks/${segment(webhookId)}/deliveries?limit=${limit}`, undefined, options);
  }

  async #json<T>(method: string, path: string, body: unknown, options: CallOptions): Promise<T> {
    const response = await this.#request(method, path, body, options);
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new TracemarkError("invalid_response", `${method} ${path}: the answer is not JSON`, {
        status: response.status,
        cause: error,
      });
    }
  }

  async #request(
    method: string,
    path: string,
    body: unknown,
    options: CallOptions,
    accept = "application/json",
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: `${accept}, application/problem+json` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.#apiKey !== undefined) headers["X-API-Key"] = this.#apiKey;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // A lost connection or a timeout is retried only where doing it twice is harmless: reads
    // and verifications, never registering a webhook (it may have been made).
    const idempotent = method === "GET" || method === "DELETE" || VERIFICATIONS.has(path);
    for (let attempt = 0; ; attempt++) {
      const backoff = Math.random() * this.#backoffMs * 2 ** attempt; // full jitter
      let response: Response;
      try {
        response = await this.#attempt(method, path, headers, payload, options.signal);
      } catch (error) {
        const transient = error instanceof TracemarkError && (error.code === "network_error" || error.code === "timeout");
        if (!transient || !idempotent || attempt >= this.#retries) throw error;
        await sleep(backoff, options.signal);
        continue;
      }
      if (response.ok) return response;
      const wait = retryAfterMs(response.headers.get("Retry-After")) ?? backoff;
      if (RETRIED.has(response.status) && attempt < this.#retries && wait <= this.#maxRetryDelayMs) {
        await response.body?.cancel().catch(() => undefined);
        await sleep(wait, options.signal);
        continue;
      }
      throw await problemError(response);
    }
  }

  async #attempt(
    method: string,
    path: string,
    headers: Record<string, string>,
    payload: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new TracemarkError("timeout", `${method} ${path}: no answer within ${this.#timeoutMs} ms`)),
      this.#timeoutMs,
    );
    const onAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const init: RequestInit = { method, headers, signal: controller.signal, redirect: "error" };
      if (payload !== undefined) init.body = payload;
      return await this.#fetch(this.baseUrl + path, init);
    } catch (error) {
      const reason = controller.signal.reason;
      if (reason instanceof TracemarkError) throw reason;
      if (signal?.aborted) throw signal.reason;
      const inner = (error as { cause?: { message?: string } }).cause?.message; // undici's reason
      const why = inner ? `${(error as Error).message} (${inner})` : (error as Error).message;
      throw new TracemarkError("network_error", `${method} ${path}: ${why}`, { cause: error });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

async function problemError(response: Response): Promise<TracemarkError> {
  const requestId = response.headers.get("X-Request-ID") ?? undefined;
  let problem: Problem | undefined;
  try {
    const parsed: unknown = await response.json();
    if (typeof parsed === "object" && parsed !== null) problem = parsed as Problem;
  } catch {
    problem = undefined;
  }
  const code = problem?.code ?? problem?.error?.code ?? `http_${response.status}`;
  const message =
    problem?.detail ?? problem?.error?.message ?? problem?.title ?? `the server answered ${response.status}`;
  const init: { status: number; problem?: Problem; requestId?: string } = { status: response.status };
  if (problem !== undefined) init.problem = problem;
  if (requestId !== undefined) init.requestId = requestId;
  return new TracemarkError(code, message, init);
}
