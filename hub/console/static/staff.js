// The Teachers page (admins): revoke a teacher's sessions at once, print a new one-time
// enrolment link, add a teacher, remove one added here. Links are shown once, as a QR code
// and as text.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  // The page's words (teachers.html hands them to this script tag as data-words, from the
  // catalog, as teacher.js gets its own); a text it lacks stays English.
  const words = JSON.parse(document.currentScript?.dataset.words || "{}");
  const t = (text, vars = {}) =>
    (words[text] || text).replace(/%\((\w+)\)s/g, (all, name) => String(vars[name]));
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let reply = {};
    try { reply = await response.json(); } catch { /* the status says enough */ }
    return { ok: response.ok, status: response.status, reply };
  }
  function showLink(reply) {
    $("new-link-user").textContent = reply.teacher;
    $("new-link-qr").src = reply.qr;
    $("new-link-url").textContent = reply.url;
    $("new-link").hidden = false;
    $("new-link-title").focus();
  }
  document.querySelectorAll("button[data-revoke]").forEach((button) => {
    button.addEventListener("click", async () => {
      const user = button.dataset.revoke;
      const said = $("revoke-said");
      button.disabled = true;
      try {
        const { ok, status, reply } = await post(`/api/teachers/${encodeURIComponent(user)}/revoke`, {});
        said.textContent = ok
          ? t("%(user)s: %(count)s session(s) ended.", { user, count: reply.sessions_ended })
          : reply.error || `${status}`;
        if (ok) button.closest("tr").children[3].textContent = "0";
      } catch {
        said.textContent = t("Cannot reach the hub.");
        button.disabled = false;
      }
    });
  });
  document.querySelectorAll("button[data-link]").forEach((button) => {
    button.addEventListener("click", async () => {
      try {
        const { ok, status, reply } = await post(`/api/teachers/${encodeURIComponent(button.dataset.link)}/link`, {});
        if (ok) showLink(reply); else $("revoke-said").textContent = reply.error || `${status}`;
      } catch {
        $("revoke-said").textContent = t("Cannot reach the hub.");
      }
    });
  });
  document.querySelectorAll("button[data-remove]").forEach((button) => {
    button.addEventListener("click", async () => {
      const user = button.dataset.remove;
      try {
        const { ok, status, reply } = await post(`/api/teachers/${encodeURIComponent(user)}/remove`, {});
        $("revoke-said").textContent = ok ? t("%(user)s removed.", { user }) : reply.error || `${status}`;
        if (ok) button.closest("tr, p").remove();
      } catch {
        $("revoke-said").textContent = t("Cannot reach the hub.");
      }
    });
  });
  $("add-teacher").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const rooms = form.rooms.value.split(";").map((r) => r.trim()).filter(Boolean);
    try {
      const { ok, status, reply } = await post("/api/teachers", { name: form.name.value, user: form.user.value, rooms });
      $("add-said").textContent = ok
        ? t("%(user)s added.", { user: reply.teacher })
        : t("Not added: %(error)s", { error: reply.error || status });
      if (ok) { form.reset(); showLink(reply); }
    } catch {
      $("add-said").textContent = t("Cannot reach the hub.");
    }
  });
})();
