// Roomcast console: live regions fed by server-sent events, actions through the JSON API.
// No framework and no build step. The server renders every piece of HTML; this script
// re-fetches the parts marked data-live, judges whether the page is still live, sends
// actions with the CSRF token, and raises panic alerts (sound, title, icon, announcement).
(() => {
  "use strict";

  // The hub sends a heartbeat every 2 s on a quiet stream: two missed beats and a margin
  // mean the page can no longer vouch for what it shows (a stalled hub keeps its sockets).
  const STALE_AFTER_MS = 5000;
  const FETCH_TIMEOUT_MS = 4000; // no request may hang the page, whatever the hub does
  const POLL_MS = 5000; // waiting times and link trouble change with the clock
  const NAG_MS = 15000; // an open alert beeps again until someone acknowledges it

  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
  const clock = (ms) => new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
  // The page's words in the user's language (script_words.html's data-words, from the
  // catalog, as teacher.js gets its own); a text it lacks stays English.
  const words = JSON.parse(document.body.dataset.words || "{}");
  const t = (text, vars = {}) =>
    (words[text] || text).replace(/%\((\w+)\)s/g, (all, name) => String(vars[name]));

  // -- talking to the hub -------------------------------------------------------------

  async function timed(path, options = {}, controller = new AbortController()) {
    const timer = window.setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    try {
      return await fetch(path, { ...options, credentials: "same-origin", signal: controller.signal });
    } catch (error) {
      if (error.name !== "AbortError") throw error;
      throw new Error(
        t("The hub did not answer within %(s)s s: this may not have gone through. " +
          "Check the board before trying again.", { s: FETCH_TIMEOUT_MS / 1000 }),
      );
    } finally {
      window.clearTimeout(timer);
    }
  }

  async function api(method, path, body) {
    const response = await timed(path, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch {
      // not JSON: keep the status text
    }
    if (response.status === 401) window.location.assign("/login");
    if (!response.ok) {
      // a refusal in the user's words if the page has them: by its message and values
      // (hub/errors.py), or by its exact English; else as the hub sent it
      const said = data.message in words ? t(data.message, data.values) : t(data.error || "");
      throw new Error(said || `${response.status} ${response.statusText}`);
    }
    return data;
  }

  function flash(message) {
    const box = $("#flash");
    if (!box) return;
    box.textContent = message;
    box.hidden = !message;
  }

  function say(message) {
    const status = $("#live-say");
    if (status) status.textContent = message;
  }

  // -- is this page live? ------------------------------------------------------------

  const link = { lastWord: Date.now(), stale: false, stream: null, openedAt: 0, liveTimer: 0 };

  function heard() {
    const silentMs = Date.now() - link.lastWord;
    link.lastWord = Date.now();
    if (!link.stale) return;
    link.stale = false;
    document.body.classList.remove("stale");
    const banner = $("#conn");
    if (banner) {
      banner.classList.replace("bad", "ok");
      const text = t("Live again at %(at)s (the hub was silent for %(s)s s).", {
        at: clock(Date.now()), s: Math.round(silentMs / 1000),
      });
      $("#conn-text").textContent = text;
      say(text);
      window.clearTimeout(link.liveTimer);
      link.liveTimer = window.setTimeout(() => {
        if (!link.stale) banner.hidden = true;
      }, 6000);
    }
    syncButtons();
    schedule(0);
  }

  function goStale() {
    if (!link.stale) {
      link.stale = true;
      document.body.classList.add("stale");
      say(t("Not live: no word from the hub since %(at)s.", { at: clock(link.lastWord) }));
      syncButtons();
    }
    const banner = $("#conn");
    if (!banner) return;
    window.clearTimeout(link.liveTimer);
    banner.classList.replace("ok", "bad");
    banner.hidden = false;
    const age = Math.round((Date.now() - link.lastWord) / 1000);
    $("#conn-text").textContent = t(
      "Not live: no word from the hub for %(s)s s (since %(at)s). " +
        "What you see may be out of date; actions wait until the hub answers. Reconnecting…",
      { s: age, at: clock(link.lastWord) },
    );
  }

  function watchdog() {
    if (Date.now() - link.lastWord <= STALE_AFTER_MS && !link.stale) return;
    if (Date.now() - link.lastWord > STALE_AFTER_MS) goStale();
    // A stalled hub leaves the stream open and silent: it never errors, so open a new one.
    if (link.stale && Date.now() - link.openedAt > STALE_AFTER_MS) openStream();
  }

  function openStream() {
    link.stream?.close();
    link.openedAt = Date.now();
    const stream = new EventSource("/api/stream");
    link.stream = stream;
    stream.onopen = () => {
      heard();
      schedule(0); // what changed before the stream was open (acks right after a page load)
    };
    stream.onmessage = () => {
      heard();
      schedule();
    };
    stream.addEventListener("heartbeat", heard);
    stream.onerror = () => {
      if (link.stream === stream) goStale(); // EventSource retries by itself; so do we
    };
  }

  // -- live regions -------------------------------------------------------------------

  const live = $$("[data-live]");
  let timer = 0;
  let refreshing = null; // the refresh in flight; a newer one replaces it, never queues

  function schedule(delay = 150) {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, delay);
  }

  async function fetchPart(region, controller) {
    const response = await timed(region.dataset.live, {}, controller);
    if (response.redirected || response.status === 401) {
      window.location.assign("/login");
      throw new Error("logged out");
    }
    if (!response.ok) throw new Error(`${response.status}`);
    return response.text();
  }

  async function refresh() {
    refreshing?.abort();
    const controller = new AbortController();
    refreshing = controller;
    try {
      const parts = await Promise.all(live.map((region) => fetchPart(region, controller)));
      if (refreshing !== controller) return;
      live.forEach((region, i) => swap(region, parts[i]));
      afterRender();
    } catch {
      // The watchdog, fed by the stream, says whether the page is live; a failed or
      // timed-out fetch is simply tried again on the next event or poll.
    } finally {
      if (refreshing === controller) refreshing = null;
    }
  }

  const shown = new WeakMap(); // each region's last HTML from the hub

  function swap(region, html) {
    if (shown.get(region) === html) return; // unchanged: keep focus, no re-announcement
    shown.set(region, html);
    const focused = document.activeElement;
    const key = focused && region.contains(focused) ? focusKey(focused) : null;
    region.innerHTML = html;
    if (key) region.querySelector(key)?.focus({ preventScroll: true });
  }

  function focusKey(element) {
    if (element.id) return `#${CSS.escape(element.id)}`;
    const action = element.dataset.action;
    if (!action) return null;
    const extra = ["room", "event"]
      .filter((name) => element.dataset[name])
      .map((name) => `[data-${name}="${CSS.escape(element.dataset[name])}"]`)
      .join("");
    return `[data-action="${action}"]${extra}`;
  }

  // -- focus after an action: never left on <body> ------------------------------------

  let focusNext = null; // a function finding where focus goes once the page has re-rendered

  function moveFocus(find) {
    const target = find();
    if (!target) return false;
    if (!target.matches("a[href], button, input, select, textarea, [tabindex]")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
    return true;
  }

  function settleFocus() {
    if (focusNext && moveFocus(focusNext)) focusNext = null;
  }

  // -- panic alerts: sound, title, icon, announcement ---------------------------------

  const SOUND_KEY = "roomcast-sound";
  const heardAlerts = new Set();
  let audio = null;
  let soundWanted = window.localStorage.getItem(SOUND_KEY) !== "off";
  let nagTimer = 0;
  const icon = (fill, mark) =>
    "data:image/svg+xml," +
    encodeURIComponent(
      `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="8" fill="${fill}"/>` +
        `<text x="8" y="12.5" font-size="12" font-weight="900" text-anchor="middle" fill="#fff" font-family="sans-serif">${mark}</text></svg>`,
    );
  const ICONS = { calm: icon("#1d2733", "R"), alert: icon("#b00020", "!") };

  const audible = () => soundWanted && audio !== null && audio.state === "running";

  function unlockAudio() {
    // Browsers let a page make sound only from a user gesture: every click and key tries.
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) {
      audio = new Context();
      audio.onstatechange = updateSound;
    }
    if (audio && audio.state === "suspended") return audio.resume().then(updateSound, updateSound);
    return Promise.resolve();
  }

  function setSound(on) {
    soundWanted = on;
    window.localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    if (!on) {
      updateSound();
      return;
    }
    unlockAudio().then(() => {
      beep(); // at once: the person who turned sound on hears that it works
      updateSound();
    });
  }

  function beep() {
    if (!audible()) return;
    window.roomcastBeeps = (window.roomcastBeeps || 0) + 1; // the tests' audio hook
    const start = audio.currentTime;
    for (let i = 0; i < 3; i += 1) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = "square";
      tone.frequency.value = i % 2 ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, start + i * 0.3);
      gain.gain.exponentialRampToValueAtTime(0.25, start + i * 0.3 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.3 + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start(start + i * 0.3);
      tone.stop(start + i * 0.3 + 0.27);
    }
  }

  function openAlerts() {
    const byId = new Map();
    for (const el of $$("[data-open-alert]")) {
      if (!byId.has(el.dataset.openAlert)) byId.set(el.dataset.openAlert, el);
    }
    return [...byId.values()];
  }

  function afterRender() {
    const open = openAlerts();
    const fresh = open.filter((el) => !heardAlerts.has(el.dataset.openAlert));
    fresh.forEach((el) => heardAlerts.add(el.dataset.openAlert));
    const marked = `${t("(ALERT)")} `;
    if (document.title.startsWith(marked)) document.title = document.title.slice(marked.length);
    if (open.length) document.title = `${marked}${document.title}`;
    document.body.classList.toggle("has-alert", open.length > 0);
    const favicon = $("#favicon");
    if (favicon) favicon.href = open.length ? ICONS.alert : ICONS.calm;
    if (fresh.length) {
      const where = fresh.map((el) =>
        el.dataset.alertAt
          ? t("room %(room)s, pressed %(at)s", { room: el.dataset.alertRoom, at: el.dataset.alertAt })
          : t("room %(room)s", { room: el.dataset.alertRoom }));
      $("#announce").textContent = t("Panic alert in %(where)s", { where: where.join("; ") });
      beep();
    }
    window.clearInterval(nagTimer);
    if (open.length) nagTimer = window.setInterval(beep, NAG_MS);
    rearm();
    updateSound();
    syncButtons();
    settleFocus();
  }

  function updateSound() {
    const state = t(audible() ? "on" : soundWanted ? "blocked: click to enable" : "off");
    for (const button of $$('[data-action="sound"]')) {
      button.setAttribute("aria-pressed", String(audible()));
      const words = $(".sound-state", button);
      if (words) words.textContent = state;
    }
    const banner = $("#sound-blocked");
    if (banner) banner.hidden = !(openAlerts().length && !audible());
    const start = $("#kiosk-start");
    if (start) start.hidden = audible() || !soundWanted;
  }

  // -- which actions can go through now -------------------------------------------------

  const NEEDS_HUB = new Set(["ack-alert", "release", "issue", "take-control", "release-control", "takeover"]);
  const NEEDS_CONTROL = new Set(["ack-alert", "release", "issue"]);

  const locked = () => $("[data-control]")?.dataset.control === "other";

  function syncButtons() {
    for (const button of $$("button[data-action]")) {
      const action = button.dataset.action;
      if (!NEEDS_HUB.has(action)) continue;
      const canTakeOver = action === "issue" && Boolean(button.dataset.takeoverLabel);
      const blocked = NEEDS_CONTROL.has(action) && locked() && !canTakeOver;
      button.disabled = link.stale || blocked || button.dataset.busy === "1";
    }
    const issue = $("#confirm-issue");
    if (issue) {
      const takeOver = locked() && Boolean(issue.dataset.takeoverLabel);
      issue.textContent = takeOver ? issue.dataset.takeoverLabel : issue.dataset.label;
      $("#confirm-locked").hidden = !locked();
    }
  }

  // -- actions ------------------------------------------------------------------------

  let armed = null; // { room, until }: a release waiting for its second click

  function rearm() {
    if (!armed || Date.now() > armed.until) {
      armed = null;
      return;
    }
    const button = $(`[data-action="release"][data-room="${CSS.escape(armed.room)}"]`);
    if (button) arm(button, false);
  }

  function arm(button, fresh = true) {
    button.classList.add("armed");
    button.textContent = t("Confirm: release room %(room)s", { room: button.dataset.room });
    if (fresh) armed = { room: button.dataset.room, until: Date.now() + 8000 };
  }

  async function act(button, work, then) {
    button.dataset.busy = "1";
    button.disabled = true;
    flash("");
    try {
      await work();
      focusNext = then;
      schedule(0);
    } catch (error) {
      flash(error.message);
      moveFocus(() => $("#flash"));
    } finally {
      delete button.dataset.busy;
      syncButtons();
    }
  }

  const controlBar = () => $("#control .control");
  const afterAck = () => $('#strip [data-action="ack-alert"]') || $("#main h1") || $("#main");

  function openTakeover(issueButton) {
    const dialog = $("#takeover");
    $(".dialog-error", dialog).hidden = true;
    dialog.dataset.mode = issueButton ? "issue" : "take";
    $("#takeover-issue").hidden = !issueButton;
    if (issueButton) $("#takeover-what").textContent = issueButton.dataset.label;
    $("#takeover-submit").textContent = t(issueButton ? "Take over and issue" : "Take over control");
    dialog.showModal();
  }

  const actions = {
    logout: (button) =>
      act(button, async () => {
        await api("POST", "/api/logout");
        window.location.assign("/login");
      }),
    sound: (button, wasAudible) => setSound(!wasAudible),
    "enable-sound": () => {
      setSound(true);
      moveFocus(afterAck);
    },
    "kiosk-start": () => {
      setSound(true);
      moveFocus(() => $("#main"));
    },
    print: () => window.print(),
    release: (button) => {
      if (!armed || armed.room !== button.dataset.room) {
        arm(button);
        return;
      }
      armed = null;
      const room = button.dataset.room;
      const path = `/api/rooms/${encodeURIComponent(room)}/release`;
      act(button, () => api("POST", path), () => $(`#room-${CSS.escape(room)}`));
    },
    "ack-alert": (button) =>
      act(button, () => api("POST", `/api/alerts/${encodeURIComponent(button.dataset.event)}/ack`), afterAck),
    "dismiss-weather": (button) =>
      act(button, () => api("POST", "/api/weather/dismiss", { id: button.dataset.weather }), afterAck),
    "take-control": (button) => act(button, () => api("POST", "/api/control/take", {}), controlBar),
    "release-control": (button) => act(button, () => api("POST", "/api/control/release"), controlBar),
    takeover: () => openTakeover(null),
    "close-dialog": () => $("#takeover").close(),
    issue: (button) => {
      if (locked()) {
        openTakeover(button);
        return;
      }
      act(button, async () => {
        const issued = await api("POST", "/api/directives", JSON.parse(button.dataset.directive));
        window.location.assign(`/board?issued=${issued.seq}`);
      });
    },
  };

  document.addEventListener("click", (event) => {
    const wasAudible = audible(); // before this gesture unlocks audio (a first click turns sound ON)
    unlockAudio();
    const button = event.target.closest("[data-action]");
    if (!button || button.disabled || !actions[button.dataset.action]) return;
    event.preventDefault();
    actions[button.dataset.action](button, wasAudible);
  });
  document.addEventListener("keydown", () => {
    if (soundWanted) unlockAudio();
  });

  $("#takeover-form")?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const dialog = $("#takeover");
    const reason = $("#takeover-reason").value.trim();
    const error = $(".dialog-error", dialog);
    try {
      if (dialog.dataset.mode === "issue") {
        const directive = JSON.parse($("#confirm-issue").dataset.directive);
        const issued = await api("POST", "/api/control/take-and-issue", { reason, directive });
        window.location.assign(`/board?issued=${issued.seq}`);
        return;
      }
      await api("POST", "/api/control/take", { reason });
      dialog.close();
      focusNext = controlBar;
      schedule(0);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });

  // -- the issue form: show only the fields the chosen action and scope need ----------

  function syncIssueForm(form) {
    const action = form.querySelector('input[name="action"]:checked')?.value;
    const scope = form.querySelector('input[name="scope"]:checked')?.value;
    for (const part of $$(".when-action", form)) part.hidden = part.dataset.actionFor !== action;
    for (const part of $$(".when-scope", form)) part.hidden = part.dataset.scope !== scope;
    $("#location", form).required = action === "evacuate";
    $("#hazard", form).required = action === "shelter";
  }

  const issueForm = $("#issue");
  if (issueForm) {
    issueForm.addEventListener("change", (event) => {
      if (event.target.id === "hazard") {
        const option = $$("#hazards option").find((o) => o.value === event.target.value);
        const strategy = $("#strategy");
        if (option && (!strategy.value || strategy.dataset.auto === "1")) {
          strategy.value = option.dataset.strategy;
          strategy.dataset.auto = "1";
        }
      }
      if (event.target.id === "strategy") delete event.target.dataset.auto;
      syncIssueForm(issueForm);
    });
    syncIssueForm(issueForm);
  }

  // -- start ----------------------------------------------------------------------------

  if (new URLSearchParams(window.location.search).has("issued")) focusNext = () => $(".latest");
  else focusNext = () => $("[data-autofocus]");
  afterRender();
  focusNext = null; // only the first render moves focus by itself
  if (live.length) {
    openStream();
    window.setInterval(watchdog, 1000);
    window.setInterval(() => schedule(0), POLL_MS);
  }
})();
