// Tracemark console shell: sends forms marked data-action as JSON with the session's CSRF
// token, shows the answer in the form's live region, then follows data-then.
// Exposes window.TM = {post, say, show, fields} for the other scripts (passkeys.js, keys.js).
"use strict";
(() => {
  const csrf = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  async function post(url, body) {
    const answer = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf() },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await answer.json(); } catch (_) { data = {}; }
    if (!answer.ok) {
      const error = new Error(data.detail || answer.statusText);
      error.code = data.code || "http_" + answer.status;
      error.status = answer.status;
      throw error;
    }
    return data;
  }

  // A message the screen rendered into data-msg-<key>, with {placeholders} filled.
  function say(form, key, values) {
    const name = "msg" + key.charAt(0).toUpperCase() + key.slice(1);
    let text = form.dataset[name] || "";
    for (const [k, v] of Object.entries(values || {})) text = text.split("{" + k + "}").join(v);
    return text;
  }

  function show(form, text, bad) {
    const out = form.querySelector(".out");
    if (!out) return;
    out.textContent = text;
    out.classList.toggle("bad", Boolean(bad));
    if (bad) out.dataset.code = (bad && bad.code) || "refused";
    else delete out.dataset.code;
  }

  function fields(form) {
    const data = {};
    for (const el of form.elements) {
      if (el.name && el.type !== "file" && el.type !== "submit") data[el.name] = el.value;
    }
    return data;
  }

  function follow(form, data) {
    if (form.dataset.show === "link" && data.link) {
      const shown = form.querySelector(".shown");
      form.querySelector("#invite-link").textContent = data.link;
      shown.hidden = false;
    }
    if (form.dataset.show === "secret" && data.secret) {  // a webhook's secret, shown once
      const shown = form.querySelector(".shown");
      form.querySelector("#webhook-secret").textContent = data.secret;
      shown.hidden = false;
    }
    const then = form.dataset.then;
    if (then === "reload") window.location.reload();
    else if (then) window.location.assign(then);
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.dataset || !form.dataset.action) return;
    event.preventDefault();
    show(form, say(form, "working"));
    try {
      const data = await post(form.dataset.action, fields(form));
      show(form, say(form, "done"));
      follow(form, data);
    } catch (error) {
      show(form, say(form, "failed", { message: error.message }), error);
    }
  });

  window.TM = { post, say, show, fields };
})();
