// The Teachers page: "Revoke sessions" ends every session of one teacher at once.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const said = document.getElementById("revoke-said");
  document.querySelectorAll("button[data-revoke]").forEach((button) => {
    button.addEventListener("click", async () => {
      const user = button.dataset.revoke;
      button.disabled = true;
      try {
        const response = await fetch(`/api/teachers/${encodeURIComponent(user)}/revoke`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
          body: "{}",
        });
        const reply = await response.json();
        said.textContent = response.ok
          ? `${user}: ${reply.sessions_ended} session(s) ended.`
          : reply.error || `${response.status}`;
        if (response.ok) button.closest("tr").children[3].textContent = "0";
      } catch {
        said.textContent = "Cannot reach the hub.";
        button.disabled = false;
      }
    });
  });
})();
