// The console's login: a console session (HttpOnly cookie) from POST /api/login. When the
// hub asks for a second factor the code field appears; a user who has none yet is taken to
// the enrolment page.
(() => {
  "use strict";
  const form = document.getElementById("login");
  const error = document.getElementById("login-error");
  const secondFactor = document.getElementById("second-factor");
  // The page's words (login.html's data-words, from the catalog, in the browser's language):
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
    const body = { user: form.user.value, password: form.password.value, kind: "console" };
    if (!secondFactor.hidden && form.otp.value.trim()) {
      body.otp = form.otp.value.trim();
    }
    try {
      const response = await fetch("/api/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      let reply = {};
      try {
        reply = await response.json();
      } catch {
        // keep the status line below
      }
      if (response.ok) {
        window.location.assign(reply.enrol ? "/enrol" : "/board");
        return;
      }
      if (reply.second_factor) {
        secondFactor.hidden = false;
        form.otp.required = true;
        form.otp.focus();
        if (body.otp === undefined) {
          return; // the first ask is not an error
        }
      }
      show(t(reply.error || `${response.status} ${response.statusText}`));
      (secondFactor.hidden ? form.password : form.otp).select();
    } catch {
      show(t("Cannot reach the hub. Check the network and try again."));
    } finally {
      button.disabled = false;
    }
  });
})();
