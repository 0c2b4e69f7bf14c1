// The console's login: a console session (HttpOnly cookie) from POST /api/login.
(() => {
  "use strict";
  const form = document.getElementById("login");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch("/api/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          user: form.user.value,
          password: form.password.value,
          kind: "console",
        }),
      });
      if (response.ok) {
        window.location.assign("/board");
        return;
      }
      let message = `${response.status} ${response.statusText}`;
      try {
        message = (await response.json()).error || message;
      } catch {
        // keep the status line
      }
      error.textContent = message;
      error.hidden = false;
      form.password.select();
    } catch {
      error.textContent = "Cannot reach the hub. Check the network and try again.";
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
})();
