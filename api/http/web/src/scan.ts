/**
 * The /scan page: find a Tracemark code with the camera (BarcodeDetector where the browser has
 * it, else zxing-cpp compiled to WebAssembly and served by Tracemark), in an uploaded screenshot
 * (POST /v1/scan, every code in the image) or in a pasted link / typed short code, and show its
 * verdict. Online the ledger decides (POST /v1/verify). Offline the TypeScript client's own
 * offline check (clients/typescript: openTrustBundle, verifyCode) runs against the cached trust
 * bundle: it can only say who signed the code ("unverified", DESIGN.md section 5) or that the
 * signature fails; the check is kept and completed against the ledger when the network returns.
 */

import { openTrustBundle, type TrustBundle } from "../../../../clients/typescript/src/trust.js";
import { verifyCode, type OfflineVerdict } from "../../../../clients/typescript/src/offline.js";

type Strings = Record<string, string>;
interface Verdict {
  status: string;
  reasons: { code: string; message: string; evidence?: Record<string, unknown> }[];
  item: Record<string, unknown>;
}

const root = document.getElementById("scan") as HTMLElement;
const T: Strings = JSON.parse(document.getElementById("scan-text")?.textContent ?? "{}");
const LOG_KEY = root.dataset.logKey ?? "";
const TRUST_URL = "/v1/trust";
const STORE_KEY = "tracemark.trust";
const SHORT_CODE = /^[0-9A-HJKMNP-TV-Z]{4,8}$/;
const GOOD = new Set(["custody_verified", "signature_valid", "key_retired", "unknown_resolver"]);

/**
 * The live stream a listing page sent the viewer from (`/scan?platform=&listing=&stream=&n=`,
 * docs/api.md "Short codes"): codes verified here are asked in that context, so the ledger
 * counts them as stream-bound (source `overlay`) when the nonce is the operator's. Empty
 * when the page was opened plainly or the values are malformed.
 */
const CONTEXT: Record<string, string> = ((): Record<string, string> => {
  const q = new URLSearchParams(location.search);
  const platform = q.get("platform") ?? "";
  const listing = q.get("listing") ?? "";
  const stream = q.get("stream") ?? "";
  const nonce = q.get("n") ?? "";
  const printable = /^[\x21-\x7e]{1,128}$/;
  if (!/^[a-z0-9_.-]{1,32}$/.test(platform) || !printable.test(listing)) return {};
  if (!/^[A-Za-z0-9_-]{96}$/.test(nonce) || (stream !== "" && !printable.test(stream))) return {};
  return { platform, listing_id: listing, stream_id: stream, nonce };
})();

const $ = <E extends HTMLElement>(id: string) => document.getElementById(id) as E;
const results = $("results");
const pending = new Map<string, HTMLElement>(); // code -> its card, checked offline only

function t(key: string, values: Record<string, string> = {}): string {
  let text = T[key] ?? key;
  for (const [k, v] of Object.entries(values)) text = text.split(`{${k}}`).join(v);
  return text;
}

function el(tag: string, attrs: Record<string, string> = {}, text = ""): HTMLElement {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

// --- the trust bundle --------------------------------------------------------------------------

let bundle: TrustBundle | null = null;

function showTrustAge(): void {
  const line = $("trust-age");
  if (bundle === null) {
    line.textContent = t("trust_none");
    line.dataset.state = "none";
    return;
  }
  const minutes = Math.max(0, Math.round((Date.now() - bundle.created) / 60_000));
  const age =
    minutes < 1 ? t("age_now") : minutes < 120 ? t("age_min", { n: String(minutes) }) : t("age_h", { n: String(Math.round(minutes / 60)) });
  line.textContent = t("trust_age", { age });
  line.dataset.state = "ready";
  line.dataset.created = String(bundle.created);
}

async function openText(text: string): Promise<TrustBundle | null> {
  try {
    return await openTrustBundle(text, { logKey: LOG_KEY });
  } catch (error) {
    console.warn("trust bundle refused:", error);
    return null;
  }
}

/** The newest trust bundle: from the network when online (the service worker keeps a copy in its
 * cache), else from the cache or this page's own copy. */
async function loadTrust(): Promise<void> {
  let text: string | null = null;
  try {
    const answer = await fetch(TRUST_URL, { headers: { accept: "application/json" } });
    if (answer.ok) text = await answer.text();
  } catch {
    /* offline and nothing cached by the service worker */
  }
  let opened = text === null ? null : await openText(text);
  if (opened !== null && text !== null) {
    try {
      localStorage.setItem(STORE_KEY, text);
    } catch {
      /* storage full or disabled: the service worker's copy remains */
    }
  } else {
    const kept = localStorage.getItem(STORE_KEY);
    if (kept !== null) opened = await openText(kept);
  }
  if (opened !== null && (bundle === null || opened.created >= bundle.created)) bundle = opened;
  showTrustAge();
}

// --- verdicts -----------------------------------------------------------------------------------

function decidingReason(verdict: Verdict): string {
  const reasons = verdict.reasons ?? [];
  const bad = reasons.find((r) => !GOOD.has(r.code));
  const pick = verdict.status === "genuine" ? reasons[0] : (bad ?? reasons[0]);
  if (pick === undefined) return "";
  return T[`reason.${pick.code}`] && document.documentElement.lang !== "en" ? t(`reason.${pick.code}`) : pick.message;
}

function card(code: string): HTMLElement {
  const existing = Array.from(results.querySelectorAll<HTMLElement>(".result")).find((c) => c.dataset.code === code);
  const node = existing ?? el("article", { class: "card result" });
  node.dataset.code = code;
  if (existing === undefined) results.prepend(node);
  node.scrollIntoView({ block: "nearest" });
  return node;
}

function fill(node: HTMLElement, status: string, mode: string, headline: string, detail: string, item: Record<string, unknown>, code: string): void {
  node.replaceChildren();
  node.dataset.status = status;
  node.dataset.mode = mode;
  const head = el("div", { class: `rbanner v-${status}` });
  head.append(el("h3", { class: "rstatus" }, headline), el("p", { class: "rwhy" }, detail));
  node.append(head);
  const facts = el("dl");
  const add = (label: string, value: unknown) => {
    if (value) facts.append(el("dt", {}, label), el("dd", {}, String(value)));
  };
  add(t("product"), item.name);
  add(t("producer"), item.producer_name ?? item.producer);
  add(t("serial"), item.serial);
  if (facts.childElementCount) node.append(facts);
  if (/^https?:\/\//i.test(code)) {
    const link = el("a", { class: "full", href: code, rel: "noopener" }, t("full"));
    node.append(link);
  }
}

function showLedger(code: string, verdict: Verdict): void {
  pending.delete(code);
  const status = verdict.status;
  fill(card(code), status, "ledger", t(`status.${status}`), decidingReason(verdict), verdict.item ?? {}, code);
  updatePending();
}

function showOffline(code: string, verdict: OfflineVerdict): void {
  const node = card(code);
  const producer = verdict.item.producer_name ?? "";
  let headline: string;
  let detail: string;
  if (verdict.status === "unverified") {
    headline = t("offline.signed_title");
    detail = t("offline.signed", { producer });
  } else if (verdict.status === "invalid") {
    headline = t("status.invalid");
    detail = t("offline.invalid");
  } else {
    headline = t("offline.refused_title");
    const reason = verdict.reasons[0];
    detail = t("offline.refused", { why: reason ? (T[`reason.${reason.code}`] && document.documentElement.lang !== "en" ? t(`reason.${reason.code}`) : reason.message) : "" });
  }
  fill(node, verdict.status, "offline", headline, detail, verdict.item, code);
  node.dataset.reason = verdict.reasons[0]?.code ?? "";
  node.append(el("p", { class: "pending" }, t("offline.pending")));
  pending.set(code, node);
  updatePending();
}

function updatePending(): void {
  const box = $("pending");
  box.hidden = pending.size === 0;
  $("pending-count").textContent = t("pending_n", { n: String(pending.size) });
}

/** The ledger's verdict, or null when the ledger cannot be reached. */
async function askLedger(code: string): Promise<Verdict | null> {
  try {
    const answer = await fetch("/v1/verify", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(CONTEXT.nonce ? { code, context: CONTEXT } : { code }),
    });
    if (answer.status >= 500 || answer.status === 429) return null;
    const body = await answer.json();
    if (!answer.ok) return { status: "invalid", reasons: [{ code: body.code ?? "bad_request", message: body.detail ?? body.title ?? "" }], item: {} };
    return body as Verdict;
  } catch {
    return null; // no network
  }
}

async function checkOffline(code: string): Promise<void> {
  if (bundle === null) await loadTrust();
  if (bundle === null) {
    const node = card(code);
    fill(node, "unverified", "offline", t("status.unverified"), t("offline.no_bundle"), {}, code);
    pending.set(code, node);
    updatePending();
    return;
  }
  showOffline(code, await verifyCode(code, bundle));
}

async function check(code: string): Promise<void> {
  const verdict = navigator.onLine ? await askLedger(code) : null;
  if (verdict !== null) showLedger(code, verdict);
  else await checkOffline(code);
}

/** Ask the ledger again for every code checked offline (the network is back, or "retry"). */
async function completePending(): Promise<void> {
  for (const code of Array.from(pending.keys())) {
    const verdict = await askLedger(code);
    if (verdict === null) return; // still offline
    showLedger(code, verdict);
  }
}

function showNetwork(): void {
  const line = $("network");
  line.dataset.online = navigator.onLine ? "1" : "0";
  line.textContent = navigator.onLine ? t("online") : t("offline");
}

// --- paste or type ------------------------------------------------------------------------------

function shortCode(text: string): string | null {
  const code = text.replace(/[\s-]+/g, "").toUpperCase().replace(/O/g, "0").replace(/[IL]/g, "1");
  return SHORT_CODE.test(code) ? code : null;
}

async function pasted(event: Event): Promise<void> {
  event.preventDefault();
  const input = $<HTMLInputElement>("paste");
  const text = input.value.trim().slice(0, 1024);
  const message = $("paste-message");
  message.textContent = "";
  if (!text) return;
  const short = text.includes("/") ? null : shortCode(text);
  if (short !== null) {
    location.assign(`/s/${short}`);
    return;
  }
  let code = text;
  if (/^\/?01\//.test(code)) code = location.origin + (code.startsWith("/") ? "" : "/") + code;
  if (!/^https?:\/\//i.test(code)) {
    message.textContent = t("paste_bad");
    return;
  }
  await check(code);
}

// --- upload a screenshot ------------------------------------------------------------------------

async function uploaded(): Promise<void> {
  const input = $<HTMLInputElement>("upload");
  const file = input.files?.[0];
  const message = $("upload-message");
  if (!file) return;
  message.textContent = t("uploading");
  let answer: Response;
  try {
    const where = CONTEXT.nonce ? `?${new URLSearchParams(CONTEXT).toString()}` : "";
    answer = await fetch(`/v1/scan${where}`, {
      method: "POST",
      headers: { "content-type": file.type || "application/octet-stream", accept: "application/json" },
      body: file,
    });
  } catch {
    // Offline: decode the image here and check each code against the trust bundle.
    const bitmap = await createImageBitmap(file);
    const texts = await decodeWasm(bitmap, 16);
    message.textContent = t("found_n", { n: String(texts.length) });
    for (const text of texts) await check(text);
    return;
  }
  const body = await answer.json();
  if (!answer.ok) {
    message.textContent = body.detail ?? body.title ?? t("upload_failed");
    return;
  }
  const codes = (body.codes ?? []) as { text: string; status: string; verdict: Verdict | null }[];
  message.textContent = t("found_n", { n: String(codes.length) });
  for (const found of codes.slice().reverse()) {
    if (found.verdict) showLedger(found.text, found.verdict);
    else fill(card(found.text), "invalid", "ledger", t("not_ours"), found.text, {}, "");
  }
  input.value = "";
}

// --- the camera ---------------------------------------------------------------------------------

let zxing: typeof import("zxing-wasm/reader") | null = null;

async function decodeWasm(source: CanvasImageSource & { width: number; height: number }, max = 4): Promise<string[]> {
  if (zxing === null) {
    zxing = await import("zxing-wasm/reader");
    // Never the CDN the package defaults to: the .wasm comes from this server.
    zxing.prepareZXingModule({
      overrides: { locateFile: (path: string, prefix: string) => (path.endsWith(".wasm") ? "/scan/assets/zxing_reader.wasm" : prefix + path) },
    });
  }
  const canvas = document.createElement("canvas");
  canvas.width = source.width;
  canvas.height = source.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (context === null) return [];
  context.drawImage(source, 0, 0);
  const image = context.getImageData(0, 0, canvas.width, canvas.height);
  const found = await zxing.readBarcodes(image, { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: max });
  return found.filter((r) => r.isValid && r.text).map((r) => r.text);
}

interface Detector {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}

async function nativeDetector(): Promise<Detector | null> {
  const Native = (globalThis as unknown as { BarcodeDetector?: { new (o: object): Detector; getSupportedFormats?: () => Promise<string[]> } }).BarcodeDetector;
  if (Native === undefined) return null;
  try {
    const formats = Native.getSupportedFormats ? await Native.getSupportedFormats() : ["qr_code"];
    return formats.includes("qr_code") ? new Native({ formats: ["qr_code"] }) : null;
  } catch {
    return null;
  }
}

let stream: MediaStream | null = null;

function stopCamera(): void {
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
  $("start-camera").hidden = false;
  $("video").hidden = true;
}

async function startCamera(): Promise<void> {
  const status = $("camera-status");
  const video = $<HTMLVideoElement>("video");
  const box = $("camera");
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch {
    status.textContent = t("camera_denied");
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  $("start-camera").hidden = true;
  await video.play();
  const detector = await nativeDetector();
  box.dataset.decoder = detector ? "barcode-detector" : "zxing-wasm";
  status.textContent = t("camera_looking");
  const seen = new Set<string>();
  while (stream !== null) {
    if (video.readyState >= 2 && video.videoWidth > 0) {
      let texts: string[] = [];
      try {
        texts = detector
          ? (await detector.detect(video)).map((b) => b.rawValue)
          : await decodeWasm(Object.assign(video, { width: video.videoWidth, height: video.videoHeight }));
      } catch (error) {
        console.warn("decode failed", error);
      }
      const fresh = texts.filter((x) => !seen.has(x));
      if (fresh.length) {
        fresh.forEach((x) => seen.add(x));
        stopCamera();
        status.textContent = t("camera_found");
        for (const text of fresh) await check(text);
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// --- start --------------------------------------------------------------------------------------

async function installOffline(): Promise<void> {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/scan/sw.js", { scope: "/scan" });
    await navigator.serviceWorker.ready;
  } catch (error) {
    console.warn("no offline mode:", error);
    return;
  }
  await loadTrust(); // now through the service worker, which keeps a copy
  if (bundle !== null && navigator.serviceWorker.controller !== null) root.dataset.offlineReady = "1";
  else navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (bundle !== null) root.dataset.offlineReady = "1";
  });
}

$("start-camera").addEventListener("click", () => void startCamera());
$("upload").addEventListener("change", () => void uploaded());
$("paste-form").addEventListener("submit", (event) => void pasted(event));
$("retry").addEventListener("click", () => void completePending());
window.addEventListener("online", () => {
  showNetwork();
  void loadTrust().then(completePending);
});
window.addEventListener("offline", showNetwork);
showNetwork();
updatePending();
void loadTrust().then(installOffline);
setInterval(showTrustAge, 60_000);
// Online but the ledger did not answer (no "online" event will come): ask again now and then.
setInterval(() => {
  if (pending.size > 0 && navigator.onLine) void completePending();
}, 30_000);
