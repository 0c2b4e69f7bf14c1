// Roomcast console: live regions fed by server-sent events, actions through the JSON API.
// No framework and no build step. The server renders every piece of HTML; this script
// only re-fetches the parts marked data-live, sends actions with the CSRF token, and
// makes a sound when a panic alert appears.
(() => {
  "use strict";

  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

  // -- talking to the hub -------------------------------------------------------------

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch {
      // not JSON: keep the status text
    }
    if (response.status === 401) {
      window.location.assign("/login");
    }
    if (!response.ok) {
      throw new Error(data.error || `${response.status} ${response.statusText}`);
    }
    return data;
  }

  function flash(message) {
    const box = $("#flash");
    if (!box) return;
    box.textContent = message;
    box.hidden = !message;
  }

  function setConnected(ok) {
    const banner = $("#conn");
    if (banner) banner.hidden = ok;
    document.body.classList.toggle("stale", !ok);
  }

  // -- live regions -------------------------------------------------------------------

  const live = $$("[data-live]");
  let busy = false;
  let again = false;
  let timer = 0;

  function schedule(delay = 150) {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, delay);
  }

  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      for (const region of live) {
        const response = await fetch(region.dataset.live, { credentials: "same-origin" });
        if (response.redirected || response.status === 401) {
          window.location.assign("/login");
          return;
        }
        if (!response.ok) throw new Error(`${response.status}`);
        swap(region, await response.text());
      }
      setConnected(true);
      afterRender();
    } catch {
      setConnected(false);
    } finally {
      busy = false;
      if (again) {
        again = false;
        schedule(250);
      }
    }
  }

  function swap(region, html) {
    const focused = document.activeElement;
    const key = focused && region.contains(focused) ? focusKey(focused) : null;
    region.innerHTML = html;
    if (key) {
      const again = region.querySelector(key);
      if (again) again.focus({ preventScroll: true });
    }
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

  function connect() {
    if (!live.length) return;
    const stream = new EventSource("/api/stream");
    stream.onopen = () => {
      setConnected(true);
      schedule(0);
    };
    stream.onmessage = () => schedule();
    stream.onerror = () => setConnected(false); // EventSource reconnects by itself
    // Waiting times and link trouble change with the clock, not only with events.
    window.setInterval(() => schedule(0), 5000);
  }

  // -- panic alerts: sound, title, screen-reader announcement -------------------------

  const heard = new Set();
  let audio = null;
  let soundOn = window.localStorage.getItem("roomcast-sound") !== "off";
  let nagTimer = 0;

  function unlockAudio() {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
    }
    if (audio && audio.state === "suspended") audio.resume();
    updateSoundButtons();
  }

  function beep() {
    if (!soundOn || !audio || audio.state !== "running") return;
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
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

  function afterRender() {
    const open = $$("[data-open-alert]");
    const fresh = open.filter((el) => !heard.has(el.dataset.openAlert));
    fresh.forEach((el) => heard.add(el.dataset.openAlert));
    const rooms = [...new Set(open.map((el) => el.dataset.alertRoom))];
    document.title = document.title.replace(/^\(ALERT\) /, "");
    document.body.classList.toggle("has-alert", open.length > 0);
    if (open.length) document.title = `(ALERT) ${document.title}`;
    if (fresh.length) {
      const announce = $("#announce");
      if (announce) announce.textContent = `Panic alert in room ${rooms.join(", ")}`;
      beep();
    }
    window.clearInterval(nagTimer);
    if (open.length) nagTimer = window.setInterval(beep, 15000); // until acknowledged
    rearm();
    updateSoundButtons();
  }

  function updateSoundButtons() {
    const blocked = soundOn && (!audio || audio.state !== "running");
    for (const button of $$('[data-action="sound"]')) {
      button.setAttribute("aria-pressed", String(soundOn));
      button.textContent = !soundOn ? "Sound off" : blocked ? "Enable sound" : "Sound on";
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
    button.textContent = `Confirm: release room ${button.dataset.room}`;
    if (fresh) armed = { room: button.dataset.room, until: Date.now() + 8000 };
  }

  async function act(button, work) {
    button.disabled = true;
    flash("");
    try {
      await work();
      schedule(0);
    } catch (error) {
      flash(error.message);
      button.disabled = false;
    }
  }

  const actions = {
    logout: (button) =>
      act(button, async () => {
        await api("POST", "/api/logout");
        window.location.assign("/login");
      }),
    sound: () => {
      soundOn = !soundOn || !audio || audio.state !== "running";
      window.localStorage.setItem("roomcast-sound", soundOn ? "on" : "off");
      unlockAudio();
    },
    print: () => window.print(),
    release: (button) => {
      if (!armed || armed.room !== button.dataset.room) {
        arm(button);
        return;
      }
      armed = null;
      act(button, () => api("POST", `/api/rooms/${encodeURIComponent(button.dataset.room)}/release`));
    },
    "ack-alert": (button) =>
      act(button, () => api("POST", `/api/alerts/${encodeURIComponent(button.dataset.event)}/ack`)),
    "take-control": (button) => act(button, () => api("POST", "/api/control/take", {})),
    "release-control": (button) => act(button, () => api("POST", "/api/control/release")),
    takeover: () => {
      const dialog = $("#takeover");
      $(".dialog-error", dialog).hidden = true;
      dialog.showModal();
    },
    "close-dialog": () => $("#takeover").close(),
    issue: (button) =>
      act(button, async () => {
        const issued = await api("POST", "/api/directives", JSON.parse(button.dataset.directive));
        window.location.assign(`/board?issued=${issued.seq}`);
      }),
  };

  document.addEventListener("click", (event) => {
    unlockAudio();
    const button = event.target.closest("[data-action]");
    if (!button || button.disabled || !actions[button.dataset.action]) return;
    event.preventDefault();
    actions[button.dataset.action](button);
  });
  document.addEventListener("keydown", unlockAudio, { once: true });

  $("#takeover-form")?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = $("#takeover-reason").value.trim();
    const error = $("#takeover .dialog-error");
    try {
      await api("POST", "/api/control/take", { reason });
      $("#takeover").close();
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

  afterRender();
  connect();
})();
