/**
 * Offline proof bundles (``GET /v1/items/{gtin}/{serial}/bundle``, docs/format.md "Item
 * bundle"): one item's entries with RFC 9162 inclusion proofs to a C2SP checkpoint, the
 * trust bundle, the code and the operator's signed statement. ``verifyBundle`` checks every
 * part as the Python core does (ledger/verdicts/bundles.py ``verify_bundle``): the same
 * checks, by the same names, fail for the same tampering (test/vectors.json).
 *
 * What a bundle cannot prove: inclusion proves presence, not absence. An entry logged after
 * the checkpoint (a later recall), or one the operator left out of its statement, is beyond
 * what the bundle can show: the result says "as of checkpoint N".
 */

import { canonicalJson } from "./canonical.js";
import { concat, fromBase64, fromBase64Lenient, sha256, toHex, utf8 } from "./bytes.js";
import { keyIdOf, parsePublicKeyText, verifyEd25519 } from "./ed25519.js";
import { TracemarkError } from "./errors.js";
import { openCheckpoint, parseLogKey, type LogKey } from "./note.js";
import { verifyCode } from "./offline.js";
import { DEFAULT_MAX_AGE_MS, openTrustBundle, type TrustBundle } from "./trust.js";

export const BUNDLE_FORMAT = "tracemark-item-bundle/v1";
const BUNDLE_CONTEXT = "tracemark/item-bundle/v1";
const COSIGNATURE_TYPE = 0x04;
const MAX_ITEM_BUNDLE_SIZE = 16 * 1024 * 1024;
const TOP_KEYS = "checkpoint,code,entries,format,item,signature,statement,trust";
const STATEMENT_KEYS = "created,indices,item,summary,tree_size";
const REGISTRATIONS = new Set(["log.genesis", "actor.register", "key.add", "key.revoke"]);

export interface BundleCheck {
  name: string;
  result: "passed" | "failed" | "skipped";
  reason: string;
}

export interface ItemSummary {
  claimed: boolean;
  custodian: string;
  custody: string[];
  custody_status: string;
  pending_to: string;
  producer: string;
  recalled: boolean;
  status: string;
}

export interface BundleResult {
  ok: boolean;
  item: string;
  treeSize: number;
  /** "as of checkpoint N: ... cannot prove that no other entry exists ..." */
  scope: string;
  summary: ItemSummary | null;
  witnesses: string[];
  checks: BundleCheck[];
}

export interface VerifyBundleOptions {
  /** The log's verifier key (``origin+hash+base64``), pinned by the caller. */
  logKey: string;
  /** Witness cosignature verifier keys (``name+hash+base64(0x04 || key)``). */
  witnesses?: readonly string[];
  /** How many of ``witnesses`` must have cosigned the checkpoint (default 0: not asked). */
  quorum?: number;
  /** The time to judge the trust bundle's age at (ms; default now). */
  now?: number;
  /** Refuse trust bundles older than this (default 7 days). */
  maxTrustAgeMs?: number;
}

const bad = (message: string) => new TracemarkError("invalid_bundle", message);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// --- RFC 9162 ------------------------------------------------------------------------------

async function leafHash(leaf: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(new Uint8Array([0]), leaf));
}

async function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(new Uint8Array([1]), left, right));
}

/** The root an inclusion proof implies (RFC 9162 2.1.3.2); throws when it cannot be one. */
export async function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<Uint8Array> {
  if (!(index >= 0 && index < size)) throw new Error(`leaf index ${index} is not below tree size ${size}`);
  if (leaf.length !== 32) throw new Error("a leaf hash is 32 bytes");
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32) throw new Error("a proof hash is 32 bytes");
    if (sn === 0n) throw new Error(`inclusion proof is too long: ${proof.length} hashes`);
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while (fn !== 0n && (fn & 1n) === 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error(`inclusion proof is too short: ${proof.length} hashes`);
  return r;
}

// --- C2SP tlog-cosignature -----------------------------------------------------------------

interface WitnessKey {
  name: string;
  keyId: string;
  publicKey: Uint8Array;
}

async function parseWitnessKey(vkey: string): Promise<WitnessKey> {
  const first = vkey.indexOf("+");
  const second = first < 0 ? -1 : vkey.indexOf("+", first + 1);
  const parts = second < 0 ? [] : [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  const material = parts.length === 3 ? fromBase64(parts[2]!) : null;
  if (material === null || material.length !== 33 || material[0] !== COSIGNATURE_TYPE || !parts[0]) {
    throw bad(`not a cosignature (type 0x04) verifier key: ${vkey}`);
  }
  const publicKey = material.subarray(1);
  const digest = await sha256(concat(utf8(parts[0]), utf8("\n"), new Uint8Array([COSIGNATURE_TYPE]), publicKey));
  const keyId = toHex(digest.subarray(0, 4));
  if (keyId !== parts[1]) throw bad(`witness key ${parts[0]}: key id does not match the key`);
  return { name: parts[0], keyId, publicKey };
}

/** The names of the witnesses whose cosignature verifies; throws if a known witness's fails. */
async function cosigners(note: string, witnesses: readonly WitnessKey[]): Promise<string[]> {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Error("the note has no signature lines");
  const text = utf8(note.slice(0, split + 1));
  const found = new Set<string>();
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const [name, encoded] = line.replace(/^\u2014 /u, "").split(" ");
    const raw = encoded === undefined ? null : fromBase64(encoded);
    if (raw === null || raw.length < 4) continue;
    const witness = witnesses.find((w) => w.name === name && w.keyId === toHex(raw.subarray(0, 4)));
    if (witness === undefined) continue;
    const signed = raw.subarray(4);
    let ok = signed.length === 72;
    if (ok) {
      const stamp = new DataView(signed.buffer, signed.byteOffset, 8).getBigUint64(0);
      const message = concat(utf8(`cosignature/v1\ntime ${stamp}\n`), text);
      ok = stamp < 2n ** 63n && (await verifyEd25519(witness.publicKey, signed.subarray(8), message));
    }
    if (!ok) throw new Error(`the cosignature of ${witness.name} does not verify`);
    found.add(witness.name);
  }
  return [...found].sort();
}

// --- entries ---------------------------------------------------------------------------------

interface Entry {
  index: number;
  type: string;
  body: Record<string, unknown>;
  signer: string;
  signature: Uint8Array;
  time: number;
}

function parseLeaf(index: number, leaf: Uint8Array): Entry {
  const obj: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(leaf));
  if (!isObject(obj) || Object.keys(obj).sort().join(",") !== "body,signature,signer,time,type") {
    throw new Error("the leaf does not have the leaf fields");
  }
  if (canonicalJson(obj) !== new TextDecoder().decode(leaf)) throw new Error("the leaf is not canonical");
  const signature = typeof obj.signature === "string" ? fromBase64Lenient(obj.signature) : null;
  if (!isObject(obj.body) || typeof obj.type !== "string" || typeof obj.signer !== "string" || signature === null) {
    throw new Error("the leaf is malformed");
  }
  return { index, type: obj.type, body: obj.body, signer: obj.signer, signature, time: Number(obj.time) };
}

function entryMessage(entry: Entry): Uint8Array {
  return concat(utf8(`tracemark/entry/${entry.type}/v1`), new Uint8Array([0]), utf8(canonicalJson(entry.body)));
}

interface Key {
  actor: string;
  publicKey: Uint8Array;
  revokedAt: number | null;
  compromisedSince: number | null;
}

async function signerProblems(entries: readonly Entry[], logKey: Uint8Array): Promise<string[]> {
  const keys = new Map<string, Key>();
  const used = new Set<string>();
  const introduced = new Map<number, Set<string>>();
  const problems: string[] = [];
  const text = (v: unknown) => String(v);
  for (const e of entries) {
    const where = `entry ${e.index}`;
    const body = e.body;
    if (e.type === "log.genesis") {
      const key = parsePublicKeyText(body.key);
      if (e.index !== 0 || key === null || toHex(key) !== toHex(logKey)) {
        problems.push(`${where}: a genesis that does not name the pinned log key`);
        continue;
      }
      const id = await keyIdOf(key);
      keys.set(id, { actor: "operator", publicKey: key, revokedAt: null, compromisedSince: null });
      introduced.set(e.index, new Set([id]));
    }
    if (e.type === "event.claim") {
      const key = parsePublicKeyText(body.key);
      if (key === null || (await keyIdOf(key)) !== e.signer || !(await verifyEd25519(key, e.signature, entryMessage(e)))) {
        problems.push(`${where}: the claim's signature does not verify`);
      }
      continue;
    }
    const signer = keys.get(e.signer);
    if (signer === undefined) {
      problems.push(`${where}: signed by key ${e.signer}, not registered in the bundle`);
      continue;
    }
    used.add(e.signer);
    if (!(await verifyEd25519(signer.publicKey, e.signature, entryMessage(e)))) {
      problems.push(`${where}: the signature of key ${e.signer} does not verify`);
      continue;
    }
    if ((signer.revokedAt !== null && signer.revokedAt <= e.time) || (signer.compromisedSince !== null && signer.compromisedSince <= e.time)) {
      problems.push(`${where}: key ${e.signer} was revoked before this entry`);
    }
    if (e.type === "actor.register") {
      if (signer.actor !== "operator") {
        problems.push(`${where}: an actor registered by ${signer.actor}, not the operator`);
        continue;
      }
      const ids = new Set<string>();
      const actor = isObject(body.actor) ? text(body.actor.id) : "";
      for (const k of (body.keys as unknown[]) ?? []) {
        const raw = parsePublicKeyText(k);
        if (raw === null) throw new Error("a registration entry is malformed");
        const id = await keyIdOf(raw);
        keys.set(id, { actor, publicKey: raw, revokedAt: null, compromisedSince: null });
        ids.add(id);
      }
      introduced.set(e.index, ids);
    } else if (e.type === "key.add" || e.type === "key.revoke") {
      if (signer.actor !== body.actor && signer.actor !== "operator") {
        problems.push(`${where}: a key of ${text(body.actor)} changed by ${signer.actor}`);
        continue;
      }
      if (e.type === "key.add") {
        const raw = parsePublicKeyText(body.key);
        if (raw === null) throw new Error("a registration entry is malformed");
        const id = await keyIdOf(raw);
        keys.set(id, { actor: text(body.actor), publicKey: raw, revokedAt: null, compromisedSince: null });
        introduced.set(e.index, new Set([id]));
      } else {
        const revoked = keys.get(text(body.key_id));
        if (revoked !== undefined) {
          revoked.revokedAt = Number(body.effective_time);
          if ("compromised_since" in body) revoked.compromisedSince = Number(body.compromised_since);
          introduced.set(e.index, new Set([text(body.key_id)]));
        }
      }
    } else if (e.type !== "log.genesis" && "actor" in body && body.actor !== signer.actor) {
      problems.push(`${where}: names actor ${text(body.actor)} but is signed by a key of ${signer.actor}`);
    }
  }
  for (const [index, ids] of [...introduced].sort((a, b) => a[0] - b[0])) {
    if (index !== 0 && ![...ids].some((id) => used.has(id))) {
      problems.push(`entry ${index}: a registration no entry of the bundle needs`);
    }
  }
  return problems;
}

// --- replay: what the entries say ------------------------------------------------------------

class Unrelated extends Error {}

function inSerials(serial: string, serials: unknown): boolean {
  if (!isObject(serials)) throw new Error("malformed serials");
  if (Array.isArray(serials.list) && serials.list.includes(serial)) return true;
  for (const r of (serials.ranges as Record<string, unknown>[] | undefined) ?? []) {
    const prefix = String(r.prefix);
    const width = Number(r.width);
    const digits = serial.slice(prefix.length);
    if (serial.length === prefix.length + width && serial.startsWith(prefix) && /^[0-9]+$/.test(digits)) {
      const n = Number(digits);
      if (Number(r.first) <= n && n <= Number(r.last)) return true;
    }
  }
  return false;
}

class State {
  chain: string[];
  lot = "";
  producer = "";
  custodian = "";
  custodyStatus = "";
  pendingTo = "";
  shipment: string | null = null;
  recalled = false;
  claimed = false;
  custody: string[] = [];

  constructor(
    readonly item: string,
    readonly gtin: string,
    readonly serial: string,
  ) {
    this.chain = [item];
  }

  begin(actor: string, lot: string, tradeItem: boolean): void {
    if (this.custodyStatus) throw new Unrelated(`${this.item} is commissioned a second time`);
    this.producer = tradeItem ? actor : "";
    this.custodian = actor;
    this.custodyStatus = "active";
    this.lot = lot;
    this.custody = [actor];
  }

  heldBy(actor: string, what: string): void {
    if (!this.custodyStatus) throw new Unrelated(`${what} before ${this.item} was commissioned`);
    if (actor !== this.custodian) throw new Unrelated(`${what} by ${actor}, but ${this.custodian} holds ${this.item}`);
  }

  inChain(names: unknown): boolean {
    return (names as unknown[]).some((n) => this.chain.includes(n as string));
  }

  summary(): ItemSummary {
    const status = this.recalled && ["active", "in_transit"].includes(this.custodyStatus) ? "recalled" : this.custodyStatus;
    return {
      claimed: this.claimed,
      custodian: this.custodian,
      custody: [...this.custody],
      custody_status: this.custodyStatus,
      pending_to: this.pendingTo,
      producer: this.producer,
      recalled: this.recalled,
      status,
    };
  }
}

function apply(s: State, kind: string, body: Record<string, unknown>): void {
  const actor = String(body.actor ?? "");
  switch (kind) {
    case "event.commission":
      if (body.gtin !== s.gtin || !inSerials(s.serial, body.serials)) throw new Unrelated(`commissions other items than ${s.item}`);
      s.begin(actor, String(body.lot ?? ""), true);
      return;
    case "event.repack": {
      const outputs = body.outputs as Record<string, unknown>;
      if (outputs.gtin === s.gtin && inSerials(s.serial, outputs.serials)) {
        s.begin(actor, String(outputs.lot ?? ""), true);
      } else if (s.inChain(body.inputs)) {
        s.heldBy(actor, "repackaged");
        s.custodyStatus = "destroyed";
      } else throw new Unrelated(`repackages other items than ${s.item}`);
      return;
    }
    case "event.pack": {
      const children = body.children as string[];
      if (body.parent === s.item && !s.gtin && !s.custodyStatus) s.begin(actor, "", false);
      else if (body.parent === s.item) s.heldBy(actor, "packed into");
      else if (s.inChain(children)) {
        s.heldBy(actor, "packed");
        const at = Math.min(...children.filter((c) => s.chain.includes(c)).map((c) => s.chain.indexOf(c)));
        s.chain = [...s.chain.slice(0, at + 1), String(body.parent)];
      } else throw new Unrelated(`packs neither ${s.item} nor a container holding it`);
      return;
    }
    case "event.unpack": {
      const parent = String(body.parent);
      if (parent === s.item) s.heldBy(actor, "unpacked");
      else if (s.chain.slice(1).includes(parent)) {
        const at = s.chain.indexOf(parent);
        if ("children" in body && !(body.children as string[]).includes(s.chain[at - 1]!)) {
          throw new Unrelated(`unpacks from ${parent} what does not hold ${s.item}`);
        }
        s.heldBy(actor, "unpacked");
        s.chain = s.chain.slice(0, at);
      } else throw new Unrelated(`unpacks a container that does not hold ${s.item}`);
      return;
    }
    case "event.ship":
      if (!s.inChain(body.items)) throw new Unrelated(`ships neither ${s.item} nor a container holding it`);
      s.heldBy(actor, "shipped");
      s.custodyStatus = "in_transit";
      s.pendingTo = String(body.to);
      s.shipment = JSON.stringify([actor, String(body.shipment)]);
      return;
    case "event.receive":
      if (s.shipment !== JSON.stringify([body.from, body.shipment])) throw new Unrelated(`receives a shipment that does not carry ${s.item}`);
      if (actor !== s.pendingTo) throw new Unrelated(`received by ${actor}, but it was shipped to ${s.pendingTo}`);
      s.custodian = actor;
      s.custodyStatus = "active";
      s.pendingTo = "";
      s.shipment = null;
      s.custody.push(actor);
      return;
    case "event.cancel_shipment":
      if (s.shipment !== JSON.stringify([actor, body.shipment])) throw new Unrelated(`cancels a shipment that does not carry ${s.item}`);
      s.custodyStatus = "active";
      s.pendingTo = "";
      s.shipment = null;
      return;
    case "event.sell":
      if (!s.inChain(body.items)) throw new Unrelated(`sells neither ${s.item} nor a container holding it`);
      s.heldBy(actor, "sold");
      s.custodyStatus = "sold";
      return;
    case "event.claim":
      if (body.item !== s.item) throw new Unrelated(`claims another item than ${s.item}`);
      s.claimed = true;
      return;
    case "event.recall": {
      const scope = body.scope;
      const hit =
        body.gtin === s.gtin &&
        (scope === "gtin" ||
          (scope === "lot" && s.lot !== "" && body.lot === s.lot) ||
          (scope === "items" && ((body.serials as unknown[] | undefined) ?? []).includes(s.serial)));
      if (!hit) throw new Unrelated(`recalls neither ${s.item}, its lot nor its GTIN`);
      if (actor !== s.producer) throw new Unrelated(`recalled by ${actor}, but ${s.producer} produced ${s.item}`);
      s.recalled = true;
      return;
    }
    case "event.decommission":
      if (!s.inChain(body.items)) throw new Unrelated(`decommissions neither ${s.item} nor a container holding it`);
      s.heldBy(actor, "decommissioned");
      s.custodyStatus = "destroyed";
      return;
    default:
      throw new Unrelated(`a ${kind} entry does not decide an item's status`);
  }
}

function parseItem(item: string): { gtin: string; serial: string } {
  const parts = item.split("/");
  if (parts.length === 2 && parts[0] === "00" && /^[0-9]{18}$/.test(parts[1]!)) return { gtin: "", serial: parts[1]! };
  if (parts.length === 4 && parts[0] === "01" && parts[2] === "21" && /^[0-9]{14}$/.test(parts[1]!)) {
    try {
      return { gtin: parts[1]!, serial: decodeURIComponent(parts[3]!) };
    } catch {
      // fall through
    }
  }
  throw bad(`not an item id: ${item}`);
}

/** Recompute an item's summary from its events (registrations skipped), in index order. */
function replay(item: string, entries: readonly Entry[]): [ItemSummary | null, string[]] {
  const { gtin, serial } = parseItem(item);
  const state = new State(item, gtin, serial);
  const problems: string[] = [];
  for (const e of entries) {
    if (REGISTRATIONS.has(e.type)) continue;
    try {
      apply(state, e.type, e.body);
    } catch (error) {
      const why = error instanceof Unrelated ? error.message : "malformed body";
      problems.push(`entry ${e.index} (${e.type}): ${why}`);
    }
  }
  if (!state.custodyStatus) {
    problems.push(`no entry commissions ${item}`);
    return [null, problems];
  }
  return [state.summary(), problems];
}

// --- verifyBundle ------------------------------------------------------------------------------

interface Proved {
  index: number;
  leaf: Uint8Array;
  proof: Uint8Array[];
}

function b64(text: unknown, what: string): Uint8Array {
  const raw = typeof text === "string" ? fromBase64Lenient(text) : null;
  if (raw === null) throw bad(`${what} is not valid base64`);
  return raw;
}

function parseBundle(bundle: unknown): [Record<string, unknown>, Proved[]] {
  let obj = bundle;
  if (typeof bundle === "string" || bundle instanceof Uint8Array) {
    if (bundle.length > MAX_ITEM_BUNDLE_SIZE) throw bad("the bundle is too large");
    try {
      obj = JSON.parse(typeof bundle === "string" ? bundle : new TextDecoder("utf-8", { fatal: true }).decode(bundle));
    } catch {
      throw bad("the bundle is not JSON");
    }
  }
  if (!isObject(obj) || obj.format !== BUNDLE_FORMAT) throw bad(`not a ${BUNDLE_FORMAT} bundle`);
  if (Object.keys(obj).sort().join(",") !== TOP_KEYS) throw bad("bundle fields wrong");
  if (typeof obj.item !== "string" || typeof obj.checkpoint !== "string") throw bad("bundle item and checkpoint must be text");
  parseItem(obj.item);
  if (obj.code !== null && typeof obj.code !== "string") throw bad("bundle code must be text or null");
  if (!isObject(obj.trust) || !isObject(obj.statement)) throw bad("bundle trust and statement must be objects");
  if (!Array.isArray(obj.entries) || obj.entries.length === 0) throw bad("bundle entries must be a non-empty list");
  const proved = (obj.entries as unknown[]).map((raw) => {
    if (!isObject(raw) || Object.keys(raw).sort().join(",") !== "inclusion_proof,index,leaf") {
      throw bad("each bundle entry needs exactly index, leaf and inclusion_proof");
    }
    const index = raw.index;
    if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 0) throw bad("an entry index must be a non-negative integer");
    if (!Array.isArray(raw.inclusion_proof) || raw.inclusion_proof.length > 64) throw bad("an inclusion proof must be a list of hashes");
    const proof = (raw.inclusion_proof as unknown[]).map((h) => b64(h, `entry ${index} proof hash`));
    return { index, leaf: b64(raw.leaf, `entry ${index} leaf`), proof };
  });
  return [obj, proved];
}

const passed = (name: string, reason: string): BundleCheck => ({ name, result: "passed", reason });
const failed = (name: string, reason: string): BundleCheck => ({ name, result: "failed", reason });
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Check an item bundle offline against the pinned log key (and ``quorum`` of ``witnesses``).
 * Throws ``TracemarkError`` (``invalid_bundle``, ``invalid_log_key``) only for what is not a
 * bundle; every other problem is a failed check in the result, with its reason.
 */
export async function verifyBundle(
  bundle: string | Uint8Array | Record<string, unknown>,
  options: VerifyBundleOptions,
): Promise<BundleResult> {
  let logKey: LogKey;
  try {
    logKey = await parseLogKey(options.logKey);
  } catch (error) {
    throw new TracemarkError("invalid_log_key", `the pinned log key is not valid: ${message(error)}`);
  }
  const witnessKeys = await Promise.all((options.witnesses ?? []).map(parseWitnessKey));
  const quorum = options.quorum ?? 0;
  if (!Number.isInteger(quorum) || quorum < 0 || quorum > witnessKeys.length) {
    throw bad(`the quorum must be from 0 to the number of witnesses (${witnessKeys.length})`);
  }
  const now = options.now ?? Date.now();
  const [obj, proved] = parseBundle(bundle);
  const item = obj.item as string;
  const note = obj.checkpoint as string;
  const checks: BundleCheck[] = [];

  // 1. The checkpoint and its witnesses.
  let size = 0;
  let root: Uint8Array = new Uint8Array();
  let witnesses: string[] = [];
  try {
    const checkpoint = await openCheckpoint(note, logKey);
    size = Number(checkpoint.treeSize);
    root = checkpoint.rootHash;
    checks.push(passed("checkpoint", `signed by the pinned key of ${logKey.name}, size ${size}`));
  } catch (error) {
    checks.push(failed("checkpoint", `the checkpoint is not the pinned log's: ${message(error)}`));
  }
  if (quorum > 0) {
    try {
      witnesses = await cosigners(note, witnessKeys);
      if (witnesses.length < quorum) throw new Error(`${witnesses.length} witness cosignature(s) verified, ${quorum} required`);
      checks.push(passed("witnesses", `cosigned by ${witnesses.join(", ")} (${quorum} needed)`));
    } catch (error) {
      witnesses = [];
      checks.push(failed("witnesses", message(error)));
    }
  } else {
    checks.push({ name: "witnesses", result: "skipped", reason: "no witness quorum asked for" });
  }

  // 2. Inclusion of every leaf in the tree of that checkpoint.
  const entries: Entry[] = [];
  const bad2: string[] = [];
  const indices = proved.map((p) => p.index);
  if (indices.some((v, i) => i > 0 && v <= indices[i - 1]!)) bad2.push("entries are not in increasing index order, or repeat");
  for (const p of proved) {
    try {
      if (!size) throw new Error("no verified checkpoint to prove against");
      const computed = await rootFromInclusionProof(p.index, size, await leafHash(p.leaf), p.proof);
      if (toHex(computed) !== toHex(root)) throw new Error("the inclusion proof does not match the root");
    } catch (error) {
      bad2.push(`entry ${p.index}: ${message(error)}`);
    }
    try {
      entries.push(parseLeaf(p.index, p.leaf));
    } catch (error) {
      bad2.push(`entry ${p.index}: the leaf is not a log entry: ${message(error)}`);
    }
  }
  entries.sort((a, b) => a.index - b.index);
  checks.push(bad2.length ? failed("inclusion", bad2.join("; ")) : passed("inclusion", `${proved.length} entries are in the tree of size ${size}`));

  // 3. Signatures, from the registrations in the bundle back to the genesis.
  let problems: string[];
  try {
    problems = entries.length ? await signerProblems(entries, logKey.publicKey) : ["no entries"];
  } catch {
    problems = ["a registration entry is malformed"];
  }
  checks.push(problems.length ? failed("signatures", problems.join("; ")) : passed("signatures", "every entry is signed by a key registered before it"));

  // 4. The trust bundle and the code.
  let trust: TrustBundle | null = null;
  try {
    trust = await openTrustBundle(obj.trust as Record<string, unknown>, {
      logKey: options.logKey,
      now,
      maxAgeMs: options.maxTrustAgeMs ?? DEFAULT_MAX_AGE_MS,
    });
    checks.push(passed("trust", `signed by the pinned log key, created at ${trust.created}`));
  } catch (error) {
    checks.push(failed("trust", message(error)));
  }
  if (obj.code === null) checks.push({ name: "code", result: "skipped", reason: "the bundle carries no code" });
  else if (trust === null) checks.push(failed("code", "no valid trust bundle to check the code against"));
  else {
    const verdict = await verifyCode(obj.code as string, trust);
    if (verdict.status !== "unverified") checks.push(failed("code", `the code is ${verdict.status}: ${verdict.reasons.map((r) => r.message).join("; ")}`));
    else if (verdict.item.item_id !== item) checks.push(failed("code", `the code is for ${verdict.item.item_id}, not ${item}`));
    else checks.push(passed("code", "signed by its producer's key in the trust bundle"));
  }

  // 5. The operator's statement.
  const statement = obj.statement as Record<string, unknown>;
  const signature = typeof obj.signature === "string" ? fromBase64Lenient(obj.signature) : null;
  let signedOk = false;
  try {
    const signedText = concat(utf8(BUNDLE_CONTEXT), new Uint8Array([0]), utf8(canonicalJson(statement)));
    signedOk = signature !== null && (await verifyEd25519(logKey.publicKey, signature, signedText));
  } catch {
    signedOk = false;
  }
  if (Object.keys(statement).sort().join(",") !== STATEMENT_KEYS) checks.push(failed("statement", "the statement's fields are wrong"));
  else if (!signedOk) checks.push(failed("statement", "not signed by the pinned log key (edited?)"));
  else if (statement.item !== item || statement.tree_size !== size) checks.push(failed("statement", "the statement is about another item or tree size"));
  else if (JSON.stringify(statement.indices) !== JSON.stringify(indices)) checks.push(failed("statement", "the entries are not the ones the operator listed"));
  else checks.push(passed("statement", `the operator lists these ${indices.length} entries`));

  // 6. Recompute what the entries say and compare with the statement's summary.
  const [summary, replayProblems] = replay(item, entries);
  checks.push(replayProblems.length ? failed("entries", replayProblems.join("; ")) : passed("entries", "every event concerns this item and its custody"));
  if (summary === null) checks.push(failed("verdict", "the entries do not commission the item"));
  else {
    const stated = isObject(statement.summary) ? statement.summary : {};
    const mine = summary as unknown as Record<string, unknown>;
    const differ = Object.keys(mine).filter((k) => JSON.stringify(stated[k]) !== JSON.stringify(mine[k]));
    if (differ.length || Object.keys(stated).length !== Object.keys(mine).length) {
      checks.push(failed("verdict", `the stated summary differs from what the entries say: ${differ.join(", ")}`));
    } else {
      checks.push(
        passed(
          "verdict",
          `${summary.status}: commissioned by ${summary.producer}, custody ${summary.custody.join(" -> ")}, ` +
            `${summary.recalled ? "recalled" : "no recall"} as of checkpoint ${size}`,
        ),
      );
    }
  }
  return {
    ok: checks.every((c) => c.result !== "failed"),
    item,
    treeSize: size,
    scope:
      `as of checkpoint ${size}: the bundle proves that these entries are in the log; it cannot prove that no ` +
      "other entry exists (one the server left out, or one logged after the checkpoint, such as a later recall)",
    summary,
    witnesses,
    checks,
  };
}
