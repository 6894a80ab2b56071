// Small progressive enhancements; every page works without them.
"use strict";

document.addEventListener("submit", (event) => {
  // Ask before destructive actions marked with data-confirm on the submit button.
  const button = event.submitter;
  const message = button && button.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  // Show the agent profile fields only when the agent role is ticked.
  const fields = document.querySelector(".agent-fields");
  const agentBox = document.querySelector('input[name="roles"][value="agent"]');
  if (fields && agentBox) {
    const sync = () => { fields.hidden = !agentBox.checked; };
    agentBox.addEventListener("change", sync);
    sync();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  // Follow a background job: poll its progress and reload the page when it ends.
  const box = document.getElementById("job");
  if (!box || box.dataset.running !== "true") return;
  const bar = document.getElementById("job-progress");
  const message = document.getElementById("job-message");
  const count = document.getElementById("job-count");
  const poll = async () => {
    try {
      const resp = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (resp.ok) {
        const job = await resp.json();
        if (job.status !== "queued" && job.status !== "running") {
          window.location.reload();
          return;
        }
        bar.value = job.percent;
        bar.textContent = `${job.percent}%`;
        count.textContent = `${job.done} / ${job.total}`;
        if (job.message) message.textContent = job.message;
      }
    } catch (err) {
      // A dropped request is retried on the next tick.
    }
    window.setTimeout(poll, 1000);
  };
  window.setTimeout(poll, 500);
});

document.addEventListener("DOMContentLoaded", () => {
  // A scored typing test needs a physical keyboard: on a touch-only device the start button
  // would start the clock of a test that cannot be typed, so offer practice instead.
  const touchOnly = matchMedia("(pointer: coarse)").matches && !matchMedia("(any-pointer: fine)").matches;
  if (!touchOnly) return;
  for (const form of document.querySelectorAll("form.typing-start")) {
    const button = form.querySelector('button[type="submit"]');
    const note = form.querySelector(".typing-phone-note");
    if (button) button.disabled = true;
    if (note) note.hidden = false;
    form.addEventListener("submit", (event) => event.preventDefault());
  }
});
