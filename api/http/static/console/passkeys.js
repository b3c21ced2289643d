// Passkeys (WebAuthn) in the page: create one when accepting an invitation, use one to sign
// in. The server makes the options and checks the answers (api/passkeys.py).
"use strict";
(() => {
  const TM = window.TM;

  async function register(form) {
    const base = form.dataset.base;
    const options = await TM.post(base + "/passkey/options", {});
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey);
    const credential = await navigator.credentials.create({ publicKey });
    await TM.post(base + "/passkey", {
      challenge_id: options.challenge_id,
      credential: credential.toJSON(),
    });
    window.location.assign("/console/");
  }

  async function signIn() {
    const options = await TM.post("/console/api/signin/passkey/options", {});
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey);
    const credential = await navigator.credentials.get({ publicKey });
    await TM.post("/console/api/signin/passkey", {
      challenge_id: options.challenge_id,
      credential: credential.toJSON(),
    });
    window.location.assign("/console/");
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    const kind = form.dataset && form.dataset.passkey;
    if (!kind) return;
    event.preventDefault();
    TM.show(form, TM.say(form, "working"));
    try {
      await (kind === "register" ? register(form) : signIn());
    } catch (error) {
      TM.show(form, TM.say(form, "failed", { message: error.message }), error);
    }
  });
})();
