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
