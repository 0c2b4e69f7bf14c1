// The teacher's page: the room's directive (polled from the hub), the roll report, and a
// panic press as deliberate as the fixed button (press and hold, with a countdown). When
// the hub stops answering the page says so at once, with the age of the last contact
// (the console's watchdog idea: a timer judges the link, not the last request alone).
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const body = document.body;

  async function send(url, payload, csrf) {
    const headers = { "Content-Type": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf;
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin", headers, body: JSON.stringify(payload),
    });
    let reply = {};
    try { reply = await response.json(); } catch { /* the status says enough */ }
    return { ok: response.ok, status: response.status, reply };
  }

  // The page's words in its language (data-words, from the catalog): this script's own and
  // the hub's refusals by their English; a word the map lacks stays English. %(name)s is
  // filled from `vars`.
  const words = JSON.parse(body.dataset.words || "{}");
  const say = (text, vars = {}) =>
    (words[text] || text).replace(/%\((\w+)\)s/g, (all, name) => String(vars[name]));

  // -- logging in: a password, or a one-time enrolment link (#user=...&token=...) --------
  if (body.classList.contains("teacher-login")) {
    if (body.dataset.mode === "enrol") {
      const said = $("enrol-said");
      const args = new URLSearchParams(window.location.hash.slice(1));
      history.replaceState(null, "", "/teacher/enrol"); // the token leaves the address bar
      send("/api/teacher/enrol", { user: args.get("user") || "", token: args.get("token") || "" })
        .then(({ ok, reply }) => {
          if (ok) window.location.replace("/teacher");
          else said.textContent = say(reply.error || "This link did not work: ask the office.");
        })
        .catch(() => { said.textContent = say("Cannot reach the hub. Join the school's Wi-Fi and open the link again."); });
      return;
    }
    const form = $("teacher-login");
    const error = $("login-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      try {
        const asked = { user: form.user.value, password: form.password.value, kind: "page" };
        if (!$("otp-row").hidden && form.otp.value) asked.otp = form.otp.value;
        const { ok, status, reply } = await send("/api/login", asked);
        if (ok) { window.location.assign("/teacher"); return; }
        error.textContent = say(reply.error || `${status}`);
        if (reply.second_factor === "totp" && $("otp-row").hidden) {
          $("otp-row").hidden = false; // the account needs a code: ask for it
          form.otp.focus();
        }
      } catch {
        error.textContent = say("Cannot reach the hub. Check the Wi-Fi and try again.");
      }
      error.hidden = false;
    });
    return;
  }

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  $("logout").addEventListener("click", async () => {
    try { await send("/api/teacher/logout", {}, csrf); } finally { window.location.assign("/teacher/login"); }
  });
  const room = body.dataset.room;
  if (!room) return;
  // A report in the page's words (data-roll-words, hub/console/display.py's roll_forms):
  // the hub's JSON says them in English ("words"), the counts are worded here.
  const rollForms = JSON.parse(body.dataset.rollWords || "null");
  const rollWords = (r) => {
    if (!rollForms) return r.words;
    const said = r.missing === 0 ? [rollForms.all] : [];
    for (const key of ["missing", "extra", "injured"]) {
      const n = r[key];
      if (n) said.push(rollForms[key][n === 1 ? 0 : 1].replace("%(count)s", String(n)));
    }
    if (r.help) said.push(rollForms.help);
    return said.length ? said.join(", ") : rollForms.none;
  };
  const api = `/api/teacher/rooms/${encodeURIComponent(room)}`;
  const heartbeatMs = Math.max(500, Number(body.dataset.heartbeatS) * 1000);
  const holdMs = Number(body.dataset.holdS) * 1000;
  const staleAfterMs = 2 * heartbeatMs + 1000;
  const link = { lastContact: Date.now(), failed: false, lost: false };
  let shown = null; // the last view from the hub

  const age = (ms) => {
    const s = Math.max(0, Math.round(ms / 1000));
    return s < 90 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  };

  function judgeLink() {
    const since = Date.now() - link.lastContact;
    const lost = link.failed || since > staleAfterMs || navigator.onLine === false;
    $("contact-age").textContent = lost ? say("LOST, last %(age)s ago", { age: age(since) }) : say("now");
    const banner = $("link-lost");
    if (lost) {
      $("link-lost-text").textContent =
        say("NO CONTACT WITH THE HUB: last contact %(age)s ago. What you see may be out of date. " +
          "A panic press keeps trying; use the room's button or call the office.", { age: age(since) });
    }
    if (lost !== link.lost) {
      link.lost = lost;
      banner.hidden = !lost;
      body.classList.toggle("stale", lost);
    }
  }

  function draw(view) {
    shown = view;
    const d = view.directive;
    $("term").textContent = d.term;
    $("lines").replaceChildren(...d.lines.map((line) => {
      const p = document.createElement("p"); p.textContent = line; return p;
    }));
    $("drill").hidden = !d.drill;
    $("directive").className = `directive a-${d.action || "none"}`;
    document.title = `${view.label}: ${d.term}${d.drill ? " (DRILL)" : ""} · Roomcast`;
    $("roll-due").hidden = !d.roll_due;
    $("roll-none").hidden = Boolean(d.roll_due);
    const said = view.roll ? say("Reported: %(words)s", { words: rollWords(view.roll) }) : (d.roll_due ? say("Not reported yet.") : "");
    if ($("roll-said").textContent !== said) $("roll-said").textContent = said;
    const open = view.panics.find((p) => p.cancellable);
    if (open && !sent.eventId) showSent(open.event_id, open.cancel_until * 1000 - (view.hub_time * 1000 - Date.now()));
  }

  async function poll() {
    const abort = new AbortController();
    const timer = window.setTimeout(() => abort.abort(), 2 * heartbeatMs);
    try {
      const response = await fetch(api, { credentials: "same-origin", signal: abort.signal });
      if (response.status === 401) { window.location.assign("/teacher/login"); return; }
      if (!response.ok) throw new Error(String(response.status));
      draw(await response.json());
      link.lastContact = Date.now();
      link.failed = false;
    } catch {
      link.failed = true;
    } finally {
      window.clearTimeout(timer);
      judgeLink();
      window.setTimeout(poll, heartbeatMs);
    }
  }
  window.addEventListener("offline", judgeLink);
  window.addEventListener("online", judgeLink);
  window.setInterval(judgeLink, 1000);
  poll();

  // -- the roll ------------------------------------------------------------------------
  async function report(counts) {
    if (!shown || !shown.directive.seq) return;
    const said = $("roll-said");
    try {
      const { ok, reply } = await send(`${api}/roll`, { seq: shown.directive.seq, ...counts }, csrf);
      said.textContent = ok ? say("Sent: %(words)s", { words: rollWords(reply) }) : say("Not sent: %(error)s", { error: reply.error });
    } catch {
      said.textContent = say("Not sent: the hub does not answer. Try again.");
    }
  }
  $("roll-all").addEventListener("click", () => report({ missing: 0 }));
  $("roll-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const count = (name) => (form[name].value === "" ? null : Number.parseInt(form[name].value, 10));
    report({ missing: count("missing"), extra: count("extra"), injured: count("injured"), help: form.help.checked });
  });

  // -- the panic press: hold, count down, send (retried with the same id), cancel ---------
  const button = $("panic-button");
  const count = $("panic-count");
  const hold = { timer: 0, ticker: 0, until: 0 };
  const sent = { eventId: "", cancelUntil: 0, ticker: 0 };

  function startHold(event) {
    if (hold.timer || (event.repeat)) return;
    event.preventDefault();
    hold.until = Date.now() + holdMs;
    button.classList.add("holding");
    const tick = () => {
      const left = Math.ceil((hold.until - Date.now()) / 1000);
      count.textContent = left > 0 ? say("Keep holding: sending in %(left)s…", { left }) : say("Sending…");
    };
    tick();
    hold.ticker = window.setInterval(tick, 200);
    hold.timer = window.setTimeout(() => { stopHold(false); press(); }, holdMs);
  }
  function stopHold(letGo) {
    if (!hold.timer) return;
    window.clearTimeout(hold.timer);
    window.clearInterval(hold.ticker);
    hold.timer = 0;
    button.classList.remove("holding");
    if (letGo) count.textContent = say("Let go: nothing was sent.");
  }
  button.addEventListener("pointerdown", startHold);
  button.addEventListener("keydown", (event) => { if (event.key === " " || event.key === "Enter") startHold(event); });
  for (const name of ["pointerup", "pointerleave", "pointercancel"]) button.addEventListener(name, () => stopHold(true));
  button.addEventListener("keyup", (event) => { if (event.key === " " || event.key === "Enter") stopHold(true); });
  button.addEventListener("contextmenu", (event) => event.preventDefault());

  async function press() {
    const pressId = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`.replace(".", ""));
    button.disabled = true;
    for (let attempt = 1; ; attempt += 1) { // the same id every time: one alert however many tries
      try {
        const { ok, status, reply } = await send(`${api}/panic`, { press_id: pressId }, csrf);
        if (ok) {
          count.textContent = "";
          showSent(reply.event_id, Date.now() + (reply.cancel_until - reply.at) * 1000);
          return;
        }
        if (status < 500) { count.textContent = say("Not sent: %(error)s. Use the room's button or call the office.", { error: reply.error }); button.disabled = false; return; }
      } catch { /* no answer: try again */ }
      count.textContent = say("The hub does not answer: still trying (%(attempt)s). Use the room's button or call the office.", { attempt });
      await new Promise((resolve) => window.setTimeout(resolve, 1000));
    }
  }

  function showSent(eventId, cancelUntilMs) {
    sent.eventId = eventId;
    sent.cancelUntil = cancelUntilMs;
    button.disabled = true;
    $("panic-sent").hidden = false;
    $("panic-cancel").hidden = false;
    $("panic-sent-text").textContent = say("Panic alert sent: the office has it.");
    window.clearInterval(sent.ticker);
    const tick = () => {
      const left = Math.ceil((sent.cancelUntil - Date.now()) / 1000);
      if (left <= 0) {
        $("panic-cancel").hidden = true;
        window.clearInterval(sent.ticker);
        count.textContent = say("The cancel window has passed: to withdraw the alert, call the office.");
        return;
      }
      $("panic-cancel").textContent = say("Cancel: false alarm (%(left)s s left)", { left });
    };
    tick();
    sent.ticker = window.setInterval(tick, 1000);
  }

  $("panic-cancel").addEventListener("click", async () => {
    try {
      const { ok, reply } = await send(`${api}/cancel`, { event_id: sent.eventId }, csrf);
      if (!ok) { count.textContent = say("Not cancelled: %(error)s", { error: reply.error }); return; }
      window.clearInterval(sent.ticker);
      $("panic-sent").hidden = true;
      sent.eventId = "";
      button.disabled = false;
      count.textContent = say("Panic alert cancelled (it stays on record as a false alarm).");
    } catch {
      count.textContent = say("Not cancelled: the hub does not answer. Try again, or call the office.");
    }
  });
})();
