// The seller's screens: the bodies of the entries a seller signs in the page (event.receive,
// listing.declare, listing.close, stream.declare), registered with keys.js, which shows
// every field before signing; and the overlay screen's copy button (Clipboard API, or
// select the text so the person copies it themselves), for the overlay address and the short
// code's chat link.
"use strict";
(() => {
  const TM = window.TM;

  // The browser's UTC offset, as the ledger's events want it ("+07:00").
  function tz() {
    const minutes = -new Date().getTimezoneOffset();
    const sign = minutes < 0 ? "-" : "+";
    const abs = Math.abs(minutes);
    const pad = (n) => String(n).padStart(2, "0");
    return sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }

  const value = (form, name) => (form.elements[name] ? form.elements[name].value.trim() : "");

  const builders = {
    "event.receive": (form) => ({
      actor: form.dataset.actor,
      shipment: value(form, "shipment"),
      from: value(form, "from"),
      event_time: Date.now(),
      tz: tz(),
    }),
    "listing.declare": (form) => {
      const body = {
        actor: form.dataset.actor,
        platform: value(form, "platform"),
        listing_id: value(form, "listing_id"),
        gtin: value(form, "gtin"),
        event_time: Date.now(),
      };
      const serials = value(form, "serials").split(/\s+/).filter(Boolean);
      const quantity = value(form, "quantity");
      if (serials.length) body.serials = serials;
      if (quantity) body.quantity = Number.parseInt(quantity, 10);
      if (!serials.length && !quantity) throw new Error("give a quantity or the item ids");
      const stream = value(form, "stream_id");
      if (stream) body.stream_id = stream;
      return body;
    },
    "listing.close": (form) => ({
      actor: form.dataset.actor,
      platform: value(form, "platform"),
      listing_id: value(form, "listing_id"),
      event_time: Date.now(),
    }),
    "stream.declare": (form) => {
      const platform = value(form, "platform");
      const body = {
        actor: form.dataset.actor,
        platform,
        session_id: value(form, "session_id"),
        stream_id: value(form, "stream_id"),
        event_time: Date.now(),
      };
      const url = value(form, "url");
      if (url) body.url = url;
      const listings = [...form.querySelectorAll("input[name=listings]:checked")]
        .filter((box) => box.dataset.platform === platform).map((box) => box.value);
      if (listings.length) body.listings = listings;
      return body;
    },
  };
  Object.assign(TM.keys.builders, builders);

  // --- the overlay screen: the preview shows the whole source (1920 x 1080, or 1080 x 1920
  // for the portrait layout), scaled down ----------------------------------------------------

  function fit() {
    const frame = document.getElementById("overlay-preview");
    if (!frame) return;
    frame.style.transform = "scale(" + frame.parentElement.clientWidth / frame.offsetWidth + ")";
  }
  fit();
  window.addEventListener("resize", fit);

  // --- the overlay screen's copy buttons (the address, the chat link): each names its field
  // (data-copy) and where it says what happened (data-out, else #copy-out) ------------------

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const field = document.getElementById(button.dataset.copy);
    const shown = document.getElementById(button.dataset.out || "copy-out");
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
      await navigator.clipboard.writeText(field.value);
      shown.textContent = TM.say(button, "copied");
      shown.dataset.how = "clipboard";
    } catch (_) {
      field.focus();
      field.select();
      let copied = false;
      try { copied = document.execCommand("copy"); } catch (_) { copied = false; }
      shown.textContent = TM.say(button, copied ? "copied" : "select");
      shown.dataset.how = copied ? "exec" : "select";
    }
  });
})();
