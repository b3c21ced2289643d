// The actor's signing key, kept by this browser and never sent anywhere.
//
// - made with WebCrypto Ed25519; the page keeps only a NON-EXTRACTABLE CryptoKey in
//   IndexedDB ("tracemark-console" / "keys", keyed by actor id);
// - at creation, and only then, the private key exists as bytes (PKCS#8) for as long as it
//   takes to seal the backup: PBKDF2-SHA-256 (600,000 iterations, 16-byte salt) derives an
//   AES-256-GCM key from the passphrase; the public key and actor are the GCM associated
//   data. The bytes are then imported as a non-extractable key and overwritten;
// - a restore opens a backup with its passphrase the same way into a non-extractable key,
//   and checks that it signs for the backup's public key;
// - entries are signed here: canonical JSON (RFC 8785, as ledger/log/canonical.py) of the
//   body, then "tracemark/entry/<type>/v1" || 0x00 || body (ledger/log/entries.py
//   signing_message), signed with Ed25519; the key id is
//   SHA-256("tracemark/key-id/v1" || 0x00 || public key)[:8] in hex (ledger/keys.py).
//
// window.TM.keys = {create, restore, load, sign, signCodes, canonical, review, builders}
// for other screens (builders: entry type -> function(form) returning the body to review
// and sign).
"use strict";
(() => {
  const TM = window.TM;
  const subtle = window.crypto.subtle;
  const utf8 = new TextEncoder();
  const DB = "tracemark-console";
  const STORE = "keys";
  const ITERATIONS = 600000;
  const BACKUP_FORMAT = "tracemark-key-backup/v1";

  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const join = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };

  // RFC 8785 for the values entries hold (objects, arrays, strings, integers, booleans, null).
  function canonical(value) {
    if (value === null || typeof value === "boolean" || typeof value === "string") {
      return JSON.stringify(value);
    }
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new Error("only safe integers can be signed");
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (typeof value === "object") {
      return "{" + Object.keys(value).sort()
        .map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
    }
    throw new Error("a " + typeof value + " cannot be signed");
  }

  async function keyId(raw) {
    const digest = await subtle.digest("SHA-256", join(utf8.encode("tracemark/key-id/v1"), new Uint8Array([0]), raw));
    return hex(digest).slice(0, 16);
  }

  function db() {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open(DB, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
  }

  async function save(actor, record) {
    const conn = await db();
    await new Promise((resolve, reject) => {
      const tx = conn.transaction(STORE, "readwrite");
      tx.objectStore(STORE).put(record, actor);
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    conn.close();
  }

  async function load(actor) {
    const conn = await db();
    const record = await new Promise((resolve, reject) => {
      const get = conn.transaction(STORE).objectStore(STORE).get(actor);
      get.onsuccess = () => resolve(get.result || null);
      get.onerror = () => reject(get.error);
    });
    conn.close();
    return record;
  }

  async function wrappingKey(passphrase, salt, iterations) {
    const base = await subtle.importKey("raw", utf8.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
    return subtle.deriveKey(
      { name: "PBKDF2", hash: "SHA-256", salt, iterations },
      base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  }

  const associated = (actor, publicKey) => utf8.encode(BACKUP_FORMAT + "|" + actor + "|" + publicKey);

  // A new key for `actor`: returns {publicKey, keyId, backup (JSON text)}.
  async function create(actor, passphrase) {
    if (passphrase.length < 12) throw new Error("the passphrase needs 12 characters or more");
    const pair = await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const raw = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
    const publicKey = "ed25519:" + b64(raw);
    const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey));
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const wrap = await wrappingKey(passphrase, salt, ITERATIONS);
    const sealed = await subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: associated(actor, publicKey) }, wrap, pkcs8);
    const privateKey = await subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
    pkcs8.fill(0);
    const id = await keyId(raw);
    await save(actor, { privateKey, publicKey, keyId: id });
    const backup = JSON.stringify({
      format: BACKUP_FORMAT, actor, public_key: publicKey, key_id: id,
      kdf: { name: "PBKDF2", hash: "SHA-256", iterations: ITERATIONS, salt: b64(salt) },
      cipher: { name: "AES-GCM", iv: b64(iv) }, sealed: b64(sealed),
    }, null, 1);
    return { publicKey, keyId: id, backup };
  }

  // Open a backup into this browser (non-extractable). Throws on a wrong passphrase.
  async function restore(text, passphrase) {
    const backup = JSON.parse(text);
    if (backup.format !== BACKUP_FORMAT) throw new Error("not a Tracemark key backup");
    const wrap = await wrappingKey(passphrase, unb64(backup.kdf.salt), backup.kdf.iterations);
    const pkcs8 = new Uint8Array(await subtle.decrypt(
      { name: "AES-GCM", iv: unb64(backup.cipher.iv), additionalData: associated(backup.actor, backup.public_key) },
      wrap, unb64(backup.sealed)));
    const privateKey = await subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
    pkcs8.fill(0);
    const raw = unb64(backup.public_key.slice("ed25519:".length));
    const probe = utf8.encode("tracemark/console/restore-check");
    const publicKey = await subtle.importKey("raw", raw, { name: "Ed25519" }, true, ["verify"]);
    const signature = await subtle.sign({ name: "Ed25519" }, privateKey, probe);
    if (!(await subtle.verify({ name: "Ed25519" }, publicKey, signature, probe))) {
      throw new Error("the backup's key does not match its public key");
    }
    const id = await keyId(raw);
    await save(backup.actor, { privateKey, publicKey: backup.public_key, keyId: id });
    return { actor: backup.actor, publicKey: backup.public_key, keyId: id };
  }

  // The signed envelope of an entry of `type` with `body`, by this browser's key of `actor`.
  async function sign(actor, type, body) {
    const record = await load(actor);
    if (!record) throw Object.assign(new Error("no signing key in this browser"), { code: "no_key" });
    const message = join(utf8.encode("tracemark/entry/" + type + "/v1"), new Uint8Array([0]),
      utf8.encode(canonical(body)));
    const signature = await subtle.sign({ name: "Ed25519" }, record.privateKey, message);
    return { type, signer: record.keyId, signature: b64(signature), body };
  }

  // Item code signatures (ledger/codes/signed.py): only messages in the code context
  // ("tracemark/code/v1" || 0x00 || GS1 element string) are signed here, never other bytes.
  // Returns {keyId, signatures: [Uint8Array(64), ...]} for `messages` (Uint8Arrays).
  const CODE_CONTEXT = join(utf8.encode("tracemark/code/v1"), new Uint8Array([0]));
  async function signCodes(actor, messages) {
    const record = await load(actor);
    if (!record) throw Object.assign(new Error("no signing key in this browser"), { code: "no_key" });
    const signatures = [];
    for (const message of messages) {
      if (!CODE_CONTEXT.every((b, i) => message[i] === b)) throw new Error("not a code message");
      signatures.push(new Uint8Array(await subtle.sign({ name: "Ed25519" }, record.privateKey, message)));
    }
    return { keyId: record.keyId, signatures };
  }

  // Show what will be signed, field by field, in a <dl>.
  function review(list, type, body, signer) {
    list.textContent = "";
    const rows = [["type", type], ...Object.entries(body), ["signer", signer]];
    for (const [name, value] of rows) {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = name;
      dd.textContent = name.endsWith("time") && typeof value === "number"
        ? new Date(value).toISOString() + " (" + value + ")"
        : typeof value === "string" ? value : JSON.stringify(value);
      list.append(dt, dd);
    }
  }

  // --- the key screen -----------------------------------------------------------------------

  async function showState() {
    const box = document.getElementById("key-state");
    if (!box) return;
    const record = await load(box.dataset.actor);
    const status = document.getElementById("key-status");
    status.textContent = record ? TM.say(box, "have", { key_id: record.keyId }) : TM.say(box, "none");
    status.dataset.keyId = record ? record.keyId : "";
  }

  async function onCreate(form) {
    const actor = document.getElementById("key-state").dataset.actor;
    const made = await create(actor, form.elements.passphrase.value);
    form.elements.passphrase.value = "";
    await TM.post("/console/api/key", { public_key: made.publicKey });
    const link = document.createElement("a");
    link.id = "backup-link";
    link.download = "tracemark-key-" + actor + "-" + made.keyId + ".json";
    link.href = URL.createObjectURL(new Blob([made.backup], { type: "application/json" }));
    link.textContent = TM.say(form, "download");
    form.querySelector(".backup").replaceChildren(link);
    TM.show(form, TM.say(form, "created"));
    await showState();
  }

  async function onRestore(form) {
    const file = form.elements.backup.files[0];
    if (!file) throw new Error("choose the backup file");
    let done;
    try {
      done = await restore(await file.text(), form.elements.restore_passphrase.value);
    } catch (error) {
      throw Object.assign(new Error(TM.say(form, "bad")), { code: "bad_backup" });
    }
    form.elements.restore_passphrase.value = "";
    TM.show(form, TM.say(form, "restored", { key_id: done.keyId }));
    await showState();
  }

  // --- forms that sign an entry (data-sign="<type>") ----------------------------------------

  const pending = new WeakMap();

  // One builder per entry type; a screen's own script adds its types to TM.keys.builders.
  const builders = {
    "key.add": (form) => ({ actor: form.dataset.actor, key: form.elements.key.value.trim(), event_time: Date.now() }),
  };

  function bodyOf(form) {
    const build = builders[form.dataset.sign];
    if (!build) throw new Error("no body builder for " + form.dataset.sign);
    return build(form);
  }

  async function onReview(form) {
    const record = await load(form.dataset.actor);
    if (!record) throw Object.assign(new Error(TM.say(form, "nokey")), { code: "no_key" });
    if (!form.reportValidity()) return;
    const body = bodyOf(form);
    pending.set(form, body);
    review(form.querySelector(".summary"), form.dataset.sign, body, record.keyId);
    const box = form.querySelector(".review");
    box.hidden = false;
    box.querySelector("button").focus();
  }

  async function onSign(form) {
    const body = pending.get(form);
    if (!body) return onReview(form);
    const entry = await sign(form.dataset.actor, form.dataset.sign, body);
    pending.delete(form);
    const done = await TM.post("/console/api/entries", { entry });
    form.querySelector(".review").hidden = true;
    TM.show(form, TM.say(form, "recorded", { index: done.index }));
    form.dataset.index = String(done.index);
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-review]");
    if (!button) return;
    const form = button.form;
    try { await onReview(form); } catch (error) {
      TM.show(form, TM.say(form, "failed", { message: error.message }), error);
    }
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    const kind = form.dataset && (form.dataset.keys || (form.dataset.sign && "sign"));
    if (!kind) return;
    event.preventDefault();
    TM.show(form, TM.say(form, "working"));
    try {
      if (kind === "create") await onCreate(form);
      else if (kind === "restore") await onRestore(form);
      else await onSign(form);
    } catch (error) {
      TM.show(form, TM.say(form, "failed", { message: error.message }), error);
    }
  });

  TM.keys = { create, restore, load, sign, signCodes, canonical, review, builders };
  showState();
})();
