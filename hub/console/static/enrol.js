// Second-factor enrolment: confirm the secret with a code from the app (POST /api/enrol),
// then show the recovery codes once. The session becomes a console session only then.
(() => {
  "use strict";
  const form = document.getElementById("enrol");
  const error = document.getElementById("enrol-error");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  // The page's words (enrol.html's data-words, from the catalog, in the user's language):
  // this script's own, and the hub's refusals by their English; any other stays as sent.
  const words = JSON.parse(document.body.dataset.words || "{}");
  const t = (text) => words[text] || text;
  const show = (message) => {
    error.textContent = message;
    error.hidden = false;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch("/api/enrol", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ code: form.code.value }),
      });
      let body = {};
      try {
        body = await response.json();
      } catch {
        // keep the status line below
      }
      if (!response.ok) {
        show(t(body.error || `${response.status} ${response.statusText}`));
        form.code.select();
        return;
      }
      const list = document.getElementById("recovery-codes");
      for (const code of body.recovery_codes) {
        const item = document.createElement("li");
        const text = document.createElement("code");
        text.textContent = code;
        item.append(text);
        list.append(item);
      }
      document.getElementById("setup").hidden = true;
      document.getElementById("recovery").hidden = false;
      document.getElementById("continue").focus();
    } catch {
      show(t("Cannot reach the hub. Check the network and try again."));
    } finally {
      button.disabled = false;
    }
  });
})();
