// Attestations signed in the page (issue 20): forms marked data-attest="<entry type>".
//
// - attest.qualification: the chosen document is stored first (PUT /v1/documents, the
//   content-addressed store); the body names it by the SHA-256 the store answers;
// - attest.identity: the identity record and a fresh 32-byte salt stay in this browser; the
//   body carries only the commitment, computed here exactly as docs/format.md says:
//     hex(SHA-256("tracemark/identity-commitment/v1" || 0x00 || salt ||
//                 canonical JSON (RFC 8785) of the record))
//   (ledger.provenance.events.attestations.identity_commitment); after signing, the record
//   and salt are offered as a file for the verifier to keep;
// - attest.revoke: the issuer withdraws one of its attestations.
// Review shows every field of the body and the signing key; submit signs exactly what was
// shown with the browser's key (TM.keys.sign, keys.js) and posts it to /console/api/entries.
//
// window.TM.attest = {commitment, preimage} (the tests compare the bytes with Python's).
"use strict";
(() => {
  const TM = window.TM;
  const utf8 = new TextEncoder();
  const DOMAIN = "tracemark/identity-commitment/v1";
  const STORED_TYPES = ["application/pdf", "image/png", "image/jpeg", "image/webp", "text/plain"];
  const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const join = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  const random = (n) => crypto.getRandomValues(new Uint8Array(n));
  const day = (value) => {
    const ms = Date.parse(value + "T00:00:00Z");
    if (!Number.isSafeInteger(ms)) throw new Error("a date is missing");
    return ms;
  };

  function preimage(salt, record) {
    if (salt.length < 16) throw new Error("the salt needs 16 bytes or more");
    return join(utf8.encode(DOMAIN), new Uint8Array([0]), salt, utf8.encode(TM.keys.canonical(record)));
  }

  async function commitment(salt, record) {
    return hex(await crypto.subtle.digest("SHA-256", preimage(salt, record)));
  }

  async function store(form, file) {
    const kind = STORED_TYPES.includes(file.type) ? file.type : "application/octet-stream";
    const answer = await fetch("/v1/documents", {
      method: "PUT", credentials: "same-origin", headers: { "content-type": kind }, body: file,
    });
    let data = {};
    try { data = await answer.json(); } catch (_) { data = {}; }
    if (!answer.ok) {
      throw Object.assign(new Error(data.detail || answer.statusText), { code: data.code || "upload_failed" });
    }
    TM.show(form, TM.say(form, "uploaded", { sha256: data.sha256 }));
    return data.sha256;
  }

  const secrets = new WeakMap(); // form -> {record, salt}: the identity record stays here

  async function bodyOf(form) {
    const f = form.elements;
    const actor = form.dataset.actor;
    const now = Date.now();
    const type = form.dataset.attest;
    if (type === "attest.qualification") {
      const file = f.document.files[0];
      if (!file) throw new Error("choose the document");
      const body = {
        actor, attestation_id: "q-" + hex(random(8)), kind: f.kind.value, gtin: f.gtin.value.trim(),
        document: await store(form, file), valid_from: day(f.valid_from.value),
        valid_until: day(f.valid_until.value), event_time: now,
      };
      if (f.lot.value.trim()) body.lot = f.lot.value.trim();
      if (f.title.value.trim()) body.title = f.title.value.trim();
      return body;
    }
    if (type === "attest.identity") {
      const record = { name: f.rec_name.value.trim(), id_number: f.rec_id.value.trim(), date_of_birth: f.rec_dob.value };
      const salt = random(32);
      secrets.set(form, { record, salt });
      return {
        actor, attestation_id: "id-" + hex(random(8)), subject: f.subject.value.trim(), level: f.level.value,
        commitment: await commitment(salt, record), verified_at: now,
        valid_until: day(f.valid_until.value), event_time: now,
      };
    }
    if (type === "attest.revoke") {
      const body = { actor, attestation_id: form.dataset.attestation, event_time: now };
      if (f.reason.value.trim()) body.reason = f.reason.value.trim();
      return body;
    }
    throw new Error("no body builder for " + type);
  }

  const pending = new WeakMap();

  async function onReview(form) {
    const record = await TM.keys.load(form.dataset.actor);
    if (!record) throw Object.assign(new Error(TM.say(form, "nokey")), { code: "no_key" });
    if (!form.reportValidity()) return;
    const body = await bodyOf(form);
    pending.set(form, body);
    const summary = form.querySelector(".summary");
    TM.keys.review(summary, form.dataset.attest, body, record.keyId);
    for (const dt of summary.querySelectorAll("dt")) { // validity as a date, with the signed ms
      if (["valid_from", "valid_until", "verified_at"].includes(dt.textContent)) {
        const ms = body[dt.textContent];
        dt.nextElementSibling.textContent = new Date(ms).toISOString() + " (" + ms + ")";
      }
    }
    const box = form.querySelector(".review");
    box.hidden = false;
    box.querySelector("button").focus();
  }

  function keep(form, body) {
    const kept = secrets.get(form);
    const place = form.querySelector(".keep");
    if (!kept || !place) return;
    const file = JSON.stringify({
      format: "tracemark-identity-record/v1", attestation_id: body.attestation_id, subject: body.subject,
      record: kept.record, salt: hex(kept.salt), commitment: body.commitment,
    }, null, 1);
    const link = document.createElement("a");
    link.id = "record-link";
    link.download = "identity-" + body.subject + "-" + body.attestation_id + ".json";
    link.href = URL.createObjectURL(new Blob([file], { type: "application/json" }));
    link.textContent = TM.say(form, "keep");
    place.replaceChildren(link);
    secrets.delete(form);
  }

  async function onSign(form) {
    const body = pending.get(form);
    if (!body) return onReview(form);
    const entry = await TM.keys.sign(form.dataset.actor, form.dataset.attest, body);
    pending.delete(form);
    const done = await TM.post("/console/api/entries", { entry });
    form.querySelector(".review").hidden = true;
    TM.show(form, TM.say(form, "recorded", { index: done.index }));
    keep(form, body);
    form.dataset.index = String(done.index);
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-attest-review]");
    if (!button) return;
    const form = button.form;
    try { await onReview(form); } catch (error) {
      TM.show(form, TM.say(form, "failed", { message: error.message }), error);
    }
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.dataset || !form.dataset.attest) return;
    event.preventDefault();
    TM.show(form, TM.say(form, "working"));
    try { await onSign(form); } catch (error) {
      TM.show(form, TM.say(form, "failed", { message: error.message }), error);
    }
  });

  TM.attest = { commitment, preimage };
})();
