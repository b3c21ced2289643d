/**
 * Tracemark item codes: a GS1 Digital Link URI carrying its producer's Ed25519 signature in
 * AI 8030 (docs/format.md, "Item codes"; the Python original is ledger/codes.py and
 * ledger/gs1.py). Pure: parsing and the signed message, no keys and no network.
 *
 *     https://vt.example.vn/01/08930001000018/10/L2611/21/FS000001?17=271231&8030=<DIGSIG>
 *
 * DIGSIG is the unpadded base64url of ``0x01 || key hint || Ed25519 signature`` (66 bytes, 88
 * characters). The signature covers ``"tracemark/code/v1" || 0x00 || "01" gtin GS "21" serial
 * GS ["10" lot GS] ["17" expiry GS]`` with GS = 0x1D; the resolver host is not signed.
 *
 * ``parseCode`` accepts exactly the Digital Link forms the Python parser accepts for an item
 * code (any escaping, GTIN-8/12/13 padded to 14 digits, non-AI query parameters ignored) and
 * throws a ``MalformedCode`` for anything else.
 */

import { concat, fromBase64Url, utf8 } from "./bytes.js";

export const CODE_CONTEXT = "tracemark/code/v1";
export const DIGSIG_LENGTH = 88;
export const MAX_CODE_LENGTH = 1024;

const GS = "\x1d";
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const BAD_DOMAIN_CHARS = "_~?#@!$&'()*+,;=%";
const SCHEMES = ["https://", "HTTPS://", "http://", "HTTP://"];
const CSET82 = /^[A-Za-z0-9!"%&'()*+,\-./:;<=>?_]+$/;
const BASE64URL_CSET = /^[A-Za-z0-9\-_=]+$/;
// The GS1 AIs an item code's Digital Link may hold; any other known AI makes it malformed.
const PATH_AIS = new Set(["01", "10", "21", "22", "235"]);
const QUERY_AIS = new Set(["17", "8030"]);
const GTIN_SHORT = /\/01\/([0-9]{8}|[0-9]{12,13})(?=[/?#]|$)/;

/** A text that cannot be read as a Tracemark item code (a typo or a bad scan, not a fake). */
export class MalformedCode extends Error {
  override name = "MalformedCode";
}

/** What a code identifies and its signature covers. */
export interface CodeIdentity {
  gtin: string;
  serial: string;
  lot: string;
  expiry: string;
}

/** A parsed item code; ``signature`` and ``keyHint`` are null for an unsigned code. */
export interface ItemCode {
  identity: CodeIdentity;
  /** The resolver part of the URI (scheme, host, any path before ``/01/``). */
  resolver: string;
  keyHint: number | null;
  signature: Uint8Array | null;
}

function fail(message: string): never {
  throw new MalformedCode(message);
}

/** The GS1 mod-10 check digit of ``digits``. */
export function checkDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    sum += i % 2 === 0 ? d * 3 : d;
  }
  return String((10 - (sum % 10)) % 10);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 ? 29 : 28; // two-digit years: 2000 was leap
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Why an AI value is not valid for the AIs an item code uses, or null. */
function valueProblem(ai: string, value: string): string | null {
  switch (ai) {
    case "01":
      if (!/^[0-9]{14}$/.test(value)) return "GTIN must be 14 digits";
      return checkDigit(value.slice(0, 13)) === value[13] ? null : "GTIN check digit is wrong";
    case "10":
    case "21":
    case "22":
      return value.length <= 20 && CSET82.test(value) ? null : `AI (${ai}) must be 1 to 20 characters of CSET 82`;
    case "235":
      return value.length <= 28 && CSET82.test(value) ? null : "AI (235) must be 1 to 28 characters of CSET 82";
    case "17": {
      if (!/^[0-9]{6}$/.test(value)) return "expiry must be a date YYMMDD";
      const year = Number(value.slice(0, 2));
      const month = Number(value.slice(2, 4));
      const day = Number(value.slice(4, 6));
      if (month < 1 || month > 12) return "expiry month must be 01 to 12";
      if (day !== 0 && day > daysInMonth(year, month)) return "expiry day is not in the month";
      return null;
    }
    case "8030":
      return value.length <= 90 && BASE64URL_CSET.test(value) ? null : "AI (8030) must be base64url";
    default:
      return `unexpected GS1 AI ${ai} in an item code`;
  }
}

/** Decode ``%XX`` to the code point XX (malformed escapes stay literal; ``%00`` refused). */
function unescape(text: string, query: boolean): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    const pair = text.slice(i + 1, i + 3);
    if (char === "%" && /^[0-9A-Fa-f]{2}$/.test(pair)) {
      if (pair === "00") fail("a value contains a percent-encoded NUL (%00)");
      out += String.fromCharCode(parseInt(pair, 16));
      i += 2;
      continue;
    }
    out += query && char === "+" ? " " : char;
  }
  return out;
}

function isAi(segment: string): boolean {
  return PATH_AIS.has(segment) || QUERY_AIS.has(segment);
}

/** Parse a signed item code (a GS1 Digital Link URI); throws ``MalformedCode``. */
export function parseCode(uri: string): ItemCode {
  if (typeof uri !== "string") fail("a code must be text");
  if (uri.length > MAX_CODE_LENGTH) {
    fail(`a code is at most ${MAX_CODE_LENGTH} characters; this one has ${uri.length}`);
  }
  const text = uri.replace(GTIN_SHORT, (_, gtin: string) => "/01/" + gtin.padStart(14, "0")).trim();
  if (!text) fail("the code is empty");
  if (!URI_CHARS.test(text)) fail("the code has a character not allowed in a URI");
  const scheme = SCHEMES.find((s) => text.startsWith(s));
  if (scheme === undefined) fail("the code must start with https:// or http://");
  const rest = text.slice(scheme.length);
  const slash = rest.indexOf("/");
  if (slash < 1) fail(slash === 0 || !rest ? "the code has no domain name" : "the code has no path");
  const domain = rest.slice(0, slash);
  if ([...domain].some((c) => BAD_DOMAIN_CHARS.includes(c))) fail("the code's domain name is not valid");
  const noFragment = rest.slice(slash).split("#")[0]!;
  const q = noFragment.indexOf("?");
  const pathInfo = q < 0 ? noFragment : noFragment.slice(0, q);
  const query = q < 0 ? "" : noFragment.slice(q + 1);
  const segments = pathInfo.split("/");

  // The rightmost primary key, read backwards in /AI/value pairs (ledger/gs1.py).
  if (segments.length > 2 && segments.at(-1) === "" && !isAi(segments.at(-2)!)) {
    fail("the path must not end with '/'");
  }
  let start = segments.length - 2;
  while (start >= 1 && isAi(segments[start]!) && segments[start] !== "01") start -= 2;
  if (start < 1 || segments[start] !== "01") fail("an item code names a GTIN (01) and a serial (21)");

  const path: [string, string][] = [];
  for (let k = start; k < segments.length; k += 2) {
    const ai = segments[k]!;
    const raw = segments[k + 1]!;
    if (!raw) fail(`AI (${ai}) has an empty value in the path`);
    path.push([ai, unescape(raw, false)]);
  }
  const sequence = path.map(([ai]) => ai).join("/");
  if (!["01/21", "01/10/21"].includes(sequence)) {
    fail(
      ["01", "01/10", "01/22", "01/22/10", "01/22/21", "01/22/10/21", "01/235"].includes(sequence)
        ? "an item code names a GTIN (01) and a serial (21), and no other key qualifier"
        : `path AIs ${sequence} are not a valid key-qualifier sequence`,
    );
  }
  const values = new Map(path);
  for (const parameter of query.split("&")) {
    const eq = parameter.indexOf("=");
    if (eq < 0) continue;
    const name = parameter.slice(0, eq);
    if (!/^[0-9]+$/.test(name)) continue; // not an AI (linkType=..., utm_source=...): ignored
    const raw = parameter.slice(eq + 1);
    if (!QUERY_AIS.has(name)) fail(`query parameter ${name.slice(0, 8)} is not allowed in an item code`);
    if (!raw) fail(`AI (${name}) has an empty value in the query`);
    if (values.has(name)) fail(`AI (${name}) appears more than once`);
    values.set(name, unescape(raw, true));
  }
  for (const [ai, value] of values) {
    const problem = valueProblem(ai, value);
    if (problem !== null) fail(problem);
  }
  const identity: CodeIdentity = {
    gtin: values.get("01")!,
    serial: values.get("21")!,
    lot: values.get("10") ?? "",
    expiry: values.get("17") ?? "",
  };
  const resolver = scheme + domain + segments.slice(0, start).join("/");
  const digsig = values.get("8030");
  if (digsig === undefined) return { identity, resolver, keyHint: null, signature: null };
  if (digsig.length !== DIGSIG_LENGTH) {
    fail(`the code signature (AI 8030) must be ${DIGSIG_LENGTH} characters, got ${digsig.length}`);
  }
  const raw = fromBase64Url(digsig);
  if (raw === null) fail("the code signature is not canonical base64url");
  if (raw[0] !== 0x01) fail(`unknown code signature version ${raw[0]}`);
  return { identity, resolver, keyHint: raw[1]!, signature: raw.subarray(2) };
}

/** The exact bytes a code signature covers. */
export function codeMessage(identity: CodeIdentity): Uint8Array {
  let elements = `01${identity.gtin}${GS}21${identity.serial}${GS}`;
  if (identity.lot) elements += `10${identity.lot}${GS}`;
  if (identity.expiry) elements += `17${identity.expiry}${GS}`;
  return concat(utf8(CODE_CONTEXT), new Uint8Array([0]), utf8(elements));
}
