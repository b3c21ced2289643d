// The producer's screens: live GTIN check digits, the bodies of the entries signed in the
// page (event.commission, event.ship, event.recall, added to TM.keys.builders; keys.js
// reviews and signs them), the
// CSV/Excel import (check, report, confirm, sign each batch, submit, progress) and print
// sheets (sign every item code here, send the signed codes, follow the job's progress).
//
// The code message is clients/typescript/src/code.ts codeMessage (ledger/codes/signed.py
// code_message), byte for byte: "tracemark/code/v1" || 0x00 || "01" gtin GS "21" serial GS
// ["10" lot GS] ["17" expiry GS]; tests/console check it against Python. The private key
// never leaves keys.js: TM.keys.signCodes signs only messages in that context.
"use strict";
(() => {
  const TM = window.TM;
  const utf8 = new TextEncoder();
  const GS = "\x1d";
  const UNRESERVED = /[A-Za-z0-9\-._~]/;

  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };

  // The GS1 mod-10 check digit of `digits` (clients/typescript/src/code.ts checkDigit).
  function checkDigit(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      const d = digits.charCodeAt(digits.length - 1 - i) - 48;
      sum += i % 2 === 0 ? d * 3 : d;
    }
    return String((10 - (sum % 10)) % 10);
  }

  // A GTIN-8/12/13/14 with a valid check digit as 14 digits, or an Error saying why not.
  function gtin14(text) {
    const value = String(text || "").trim();
    if (!/^([0-9]{8}|[0-9]{12,14})$/.test(value)) return { error: "short" };
    const want = checkDigit(value.slice(0, -1));
    if (want !== value.slice(-1)) return { error: "bad", digit: want };
    return { gtin: value.padStart(14, "0") };
  }

  // The exact bytes a code signature covers (code.ts codeMessage).
  function codeMessage(identity) {
    let elements = "01" + identity.gtin + GS + "21" + identity.serial + GS;
    if (identity.lot) elements += "10" + identity.lot + GS;
    if (identity.expiry) elements += "17" + identity.expiry + GS;
    return concat(utf8.encode("tracemark/code/v1"), new Uint8Array([0]), utf8.encode(elements));
  }

  // Percent-encode all but A-Za-z0-9-._~ (ledger/codes/gs1.py uri_escape).
  function escape(value, query) {
    let out = "";
    for (const ch of value) {
      if (UNRESERVED.test(ch)) out += ch;
      else if (ch === " " && query) out += "+";
      else for (const b of utf8.encode(ch)) out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    }
    return out;
  }

  function base64url(bytes) {
    let text = "";
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The signed Digital Link URI (ledger/codes/signed.py issue_uri): DIGSIG is
  // base64url(0x01 || first byte of the key id || signature).
  function codeUri(resolver, identity, keyId, signature) {
    const digsig = base64url(concat(new Uint8Array([1, parseInt(keyId.slice(0, 2), 16)]), signature));
    let uri = resolver.replace(/\/+$/, "") + "/01/" + identity.gtin;
    if (identity.lot) uri += "/10/" + escape(identity.lot);
    uri += "/21/" + escape(identity.serial) + "?";
    if (identity.expiry) uri += "17=" + escape(identity.expiry, true) + "&";
    return uri + "8030=" + digsig;
  }

  // "FS000001" and 1000 -> the range FS000001..FS001000 ({prefix, first, last, width}).
  function serialRange(first, count) {
    const found = /^(.*?)([0-9]+)$/.exec(String(first || "").trim());
    const n = Number(count);
    if (!found || !Number.isSafeInteger(n) || n < 1) throw new Error("a first serial ending in digits, and a count");
    const width = found[2].length;
    const start = Number(found[2]);
    const last = start + n - 1;
    if (last >= 10 ** width) throw new Error("the range passes " + "9".repeat(width));
    return { prefix: found[1], first: start, last, width };
  }

  function serialsOf(range) {
    const out = [];
    for (let n = range.first; n <= range.last; n++) out.push(range.prefix + String(n).padStart(range.width, "0"));
    return out;
  }

  const itemId = (gtin, serial) => "01/" + gtin + "/21/" + escape(serial);

  function tz() {
    const minutes = -new Date().getTimezoneOffset();
    const sign = minutes < 0 ? "-" : "+";
    const abs = Math.abs(minutes);
    return sign + String(Math.floor(abs / 60)).padStart(2, "0") + ":" + String(abs % 60).padStart(2, "0");
  }

  function chosenGtin(form) {
    const checked = gtin14(form.elements.gtin.value);
    if (!checked.gtin) throw new Error("choose a product");
    return checked.gtin;
  }

  // --- entries signed in the page (reviewed and signed by keys.js) ---------------------------

  Object.assign(TM.keys.builders, {
    "event.commission": (form) => {
      const gtin = chosenGtin(form);
      const body = {
        actor: form.dataset.actor, gtin,
        serials: { ranges: [serialRange(form.elements.first.value, form.elements.count.value)] },
        event_time: Date.now(), tz: tz(),
      };
      const lot = form.elements.lot.value.trim();
      const expiry = form.elements.expiry.value.trim();
      if (lot) body.lot = lot;
      if (expiry) body.expiry = expiry;
      const option = form.elements.gtin.selectedOptions[0];
      if (option && option.dataset.name) body.product = { name: option.dataset.name };
      return body;
    },
    "event.ship": (form) => {
      const gtin = chosenGtin(form);
      const range = serialRange(form.elements.first.value, form.elements.count.value);
      return {
        actor: form.dataset.actor, shipment: form.elements.shipment.value.trim(),
        to: form.elements.to.value.trim(), items: serialsOf(range).map((s) => itemId(gtin, s)),
        event_time: Date.now(), tz: tz(),
      };
    },
    "event.recall": (form) => ({
      actor: form.dataset.actor, gtin: chosenGtin(form), scope: "lot",
      lot: form.elements.lot.value.trim(), reason: form.elements.reason.value.trim(),
      contact: form.elements.contact.value.trim(), event_time: Date.now(), tz: tz(),
    }),
  });

  // --- products: live check digit, save with a picture -------------------------------------

  document.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.matches || !input.matches("input[data-gtin]")) return;
    const form = input.form;
    const out = document.getElementById("gtin-check");
    const checked = gtin14(input.value);
    if (checked.gtin) {
      out.textContent = TM.say(form, "gtinOk");
      input.setCustomValidity("");
      out.dataset.state = "ok";
    } else {
      const text = checked.error === "bad" ? TM.say(form, "gtinBad", { digit: checked.digit }) : TM.say(form, "gtinShort");
      out.textContent = text;
      input.setCustomValidity(text);
      out.dataset.state = checked.error;
    }
  });

  const readAs = (file, how) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    if (how === "url") reader.readAsDataURL(file); else reader.readAsArrayBuffer(file);
  });

  async function onProduct(form) {
    const body = {
      gtin: form.elements.gtin.value.trim(),
      name_vi: form.elements.name_vi.value.trim(),
      name_en: form.elements.name_en.value.trim(),
    };
    const file = form.elements.image.files[0];
    if (file) body.image = await readAs(file, "url");
    await TM.post("/console/api/producer/products", body);
    TM.show(form, TM.say(form, "done"));
    window.location.reload();
  }

  // --- import: check, report, confirm, sign and submit each batch ----------------------------

  const reports = new WeakMap();

  function showReport(form, report) {
    const table = form.querySelector("#import-report");
    const rows = table.querySelector("tbody");
    rows.textContent = "";
    const vi = form.dataset.lang === "vi";
    for (const issue of report.issues) {
      const tr = document.createElement("tr");
      for (const value of [issue.row, issue.column, vi ? issue.message_vi : issue.message]) {
        const td = document.createElement("td");
        td.textContent = String(value);
        tr.append(td);
      }
      rows.append(tr);
    }
    table.hidden = report.issues.length === 0;
    table.querySelector("caption").textContent = TM.say(form, "bad", { count: report.issue_count });
    const confirm = form.querySelector("#import-confirm");
    const count = report.kind === "products" ? report.products.length : report.entries.length;
    confirm.hidden = !(report.ok && count);
    confirm.textContent = TM.say(form, report.kind === "products" ? "products" : "confirm", { entries: count });
    TM.show(form, report.ok
      ? TM.say(form, "ok", { rows: report.rows, entries: report.entries.length, serials: report.serials })
      : TM.say(form, "bad", { count: report.issue_count }), report.ok ? null : { code: "import_issues" });
    form.dataset.state = report.ok ? "ok" : "issues";
  }

  async function onImport(form) {
    const file = form.elements.file.files[0];
    if (!file) throw new Error("choose a file");
    const bytes = new Uint8Array(await readAs(file, "buffer"));
    let text = "";
    for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    delete form.dataset.done;
    const report = await TM.post("/console/api/producer/import", { filename: file.name, data: btoa(text), tz: tz() });
    reports.set(form, report);
    showReport(form, report);
  }

  // A products file: no entry to sign; each product's names go to the product table.
  async function saveProducts(form, report) {
    const progress = form.querySelector("#import-progress");
    form.querySelector("#import-progress-box").hidden = false;
    progress.max = report.products.length;
    progress.value = 0;
    form.querySelector("#import-confirm").hidden = true;
    for (const p of report.products) {
      await TM.post("/console/api/producer/products", { gtin: p.gtin, name_vi: p.name_vi, name_en: p.name_en });
      progress.value += 1;
    }
    reports.delete(form);
    TM.show(form, TM.say(form, "alldone", { entries: report.products.length }));
    form.dataset.done = String(report.products.length);
  }

  async function onConfirm(form) {
    const report = reports.get(form);
    if (!report || !report.ok) return;
    if (report.kind === "products") return saveProducts(form, report);
    if (!(await TM.keys.load(form.dataset.actor))) throw Object.assign(new Error(TM.say(form, "nokey")), { code: "no_key" });
    const progress = form.querySelector("#import-progress");
    form.querySelector("#import-progress-box").hidden = false;
    progress.max = report.entries.length;
    progress.value = 0;
    form.querySelector("#import-confirm").hidden = true;
    for (const entry of report.entries) {
      const signed = await TM.keys.sign(form.dataset.actor, entry.type, entry.body);
      await TM.post("/console/api/entries", { entry: signed });
      progress.value += 1;
    }
    reports.delete(form);
    TM.show(form, TM.say(form, "alldone", { entries: report.entries.length }));
    form.dataset.done = String(report.entries.length);
  }

  // --- print sheets: sign every code here, send them, follow the job -------------------------

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function onLabels(form) {
    const gtin = chosenGtin(form);
    const lot = form.elements.lot.value.trim();
    const expiry = form.elements.expiry.value.trim();
    const serials = serialsOf(serialRange(form.elements.first.value, form.elements.count.value));
    const identities = serials.map((serial) => ({ gtin, serial, lot, expiry }));
    const link = form.querySelector("#sheet-link");
    link.hidden = true;
    delete form.dataset.job;
    TM.show(form, TM.say(form, "signing", { done: 0, total: identities.length }));
    const signed = await TM.keys.signCodes(form.dataset.actor, identities.map(codeMessage)).catch((error) => {
      throw error.code === "no_key" ? Object.assign(new Error(TM.say(form, "nokey")), { code: "no_key" }) : error;
    });
    const uris = identities.map((id, i) => codeUri(form.dataset.resolver, id, signed.keyId, signed.signatures[i]));
    TM.show(form, TM.say(form, "signing", { done: uris.length, total: uris.length }));
    const format = form.elements.format.value;
    const lang = document.documentElement.lang;
    const started = await TM.post("/console/api/producer/sheets", { uris, format, lang });
    const bar = form.querySelector("#sheet-progress");
    bar.max = started.total;
    bar.value = 0;
    for (;;) {
      const answer = await fetch("/console/api/producer/jobs/" + encodeURIComponent(started.job_id), { credentials: "same-origin" });
      const job = await answer.json();
      if (!answer.ok) throw Object.assign(new Error(job.detail || answer.statusText), { code: job.code });
      bar.max = job.total || 1;
      bar.value = job.done;
      if (job.state === "failed") throw Object.assign(new Error(job.error), { code: "job_failed" });
      if (job.state === "done") break;
      await sleep(250);
    }
    link.href = "/console/api/producer/jobs/" + encodeURIComponent(started.job_id) + "/file";
    link.download = "tracemark-sheet." + (format === "pdf" ? "pdf" : format + ".zip");
    link.hidden = false;
    form.dataset.job = started.job_id;
    TM.show(form, TM.say(form, "done"));
  }

  // --- wiring --------------------------------------------------------------------------------

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    const kind = form.dataset && (form.dataset.product || form.dataset.import || form.dataset.labels);
    if (!kind) return;
    event.preventDefault();
    TM.show(form, TM.say(form, "working"));
    try {
      if (form.dataset.product) await onProduct(form);
      else if (form.dataset.import) await onImport(form);
      else await onLabels(form);
    } catch (error) {
      TM.show(form, TM.say(form, "failed", { message: error.message }), error);
    }
  });

  document.addEventListener("click", async (event) => {
    if (!event.target.matches || !event.target.matches("#import-confirm")) return;
    const form = event.target.form;
    try { await onConfirm(form); } catch (error) {
      TM.show(form, TM.say(form, "failed", { message: error.message }), error);
    }
  });

  TM.codes = { checkDigit, gtin14, codeMessage, codeUri, escape, serialRange, serialsOf, itemId };
})();
