// The district console's own actions, beside the school console's console.js (live regions,
// control, logout): the directive form's fields, and the confirmed send.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

  // -- the form: show only the fields the chosen action and scope need ---------------
  const form = $("#district-form");
  if (form) {
    const sync = () => {
      const action = $('input[name="action"]:checked', form)?.value;
      const scope = $('input[name="scope"]:checked', form)?.value;
      for (const part of $$(".when-action", form)) part.hidden = part.dataset.actionFor !== action;
      for (const part of $$(".when-scope", form)) part.hidden = part.dataset.scope !== scope;
      $("#location", form).required = action === "evacuate";
      $("#hazard", form).required = action === "shelter";
      $("#building", form).required = scope === "building";
    };
    form.addEventListener("change", (event) => {
      if (event.target.id === "hazard") {
        const option = $$("#hazards option").find((o) => o.value === event.target.value);
        const strategy = $("#strategy");
        if (option && !strategy.value) strategy.value = option.dataset.strategy;
      }
      sync();
    });
    sync();
  }

  // -- groups (the district admin) ----------------------------------------------------
  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    let reply = {};
    try {
      reply = await response.json();
    } catch {
      // not JSON: keep the status line
    }
    if (response.status === 401) window.location.assign("/login");
    if (!response.ok) throw new Error(reply.error || `${response.status} ${response.statusText}`);
    return reply;
  }

  function groupError(message) {
    const box = $("#group-error");
    box.textContent = message;
    box.hidden = false;
    box.focus();
  }

  const groupForm = $("#group-form");
  if (groupForm) {
    groupForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const schools = $$('input[name="school"]:checked', groupForm).map((box) => box.value);
      try {
        await post("/api/groups", { name: groupForm.name.value.trim(), schools });
        window.location.reload();
      } catch (failure) {
        groupError(`Not saved: ${failure.message}`);
      }
    });
  }
  document.addEventListener("click", async (event) => {
    const button = event.target.closest('[data-action="remove-group"]');
    if (!button) return;
    event.preventDefault();
    try {
      await post(`/api/groups/${encodeURIComponent(button.dataset.group)}/remove`, {});
      window.location.reload();
    } catch (failure) {
      groupError(`Not removed: ${failure.message}`);
    }
  });

  // -- the confirmation: nothing goes until the user ticks that they read it ------------
  const send = $("#send-request");
  const readIt = $("#read-it");
  if (send && readIt) {
    readIt.checked = false;
    readIt.addEventListener("change", () => {
      send.disabled = !readIt.checked;
    });
    send.addEventListener("click", async (event) => {
      event.preventDefault();
      if (send.disabled) return;
      send.disabled = true;
      const error = $("#send-error");
      error.hidden = true;
      try {
        const response = await fetch("/api/requests", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: send.dataset.request,
        });
        let reply = {};
        try {
          reply = await response.json();
        } catch {
          // not JSON: keep the status line
        }
        if (response.status === 401) {
          window.location.assign("/login");
          return;
        }
        if (response.status === 409 && reply.confirm) {
          // What the page showed changed (or it is too old): the new one says what changed.
          window.location.assign(reply.confirm);
          return;
        }
        if (!response.ok) throw new Error(reply.error || `${response.status} ${response.statusText}`);
        // A retry of this very confirmation answers with the same request: never a second.
        window.location.assign(`/requests/${encodeURIComponent(reply.request_id)}`);
      } catch (failure) {
        error.textContent = `Not sent: ${failure.message}`;
        error.hidden = false;
        error.focus();
        send.disabled = !readIt.checked;
      }
    });
  }
})();
