// The live monitor of a sitting: poll its figures and update the cells in place.
// Only the status, typing-test, time-left, saved, score and answer-sheet cells, the summary
// badges and the "as of" note change: the override forms are never touched, so extra time
// being typed survives every update (the page used to reload itself and lose it).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const monitor = document.getElementById("monitor");
  if (!monitor || !monitor.dataset.pollUrl) return;
  const every = Number(monitor.dataset.pollSeconds || 15) * 1000;
  // When each row's time runs out, on this browser's clock (set from the server's seconds).
  let ends = new Map();

  const clock = (seconds) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  const cell = (row, field) => row.querySelector(`[data-field="${field}"]`);
  const write = (node, value) => {
    if (node && node.textContent !== value) node.textContent = value;
  };

  const tick = () => {
    const now = Date.now();
    for (const [row, end] of ends) {
      write(cell(row, "left"), clock(Math.max(0, Math.round((end - now) / 1000))));
    }
  };

  const sheetLink = (row, url) => {
    const box = cell(row, "sheet");
    if (!box) return;
    let link = box.querySelector("a");
    if (!url) {
      if (link) link.remove();
      return;
    }
    if (!link) {
      link = document.createElement("a");
      link.textContent = monitor.dataset.sheetLabel;
      box.append(link);
    }
    if (link.getAttribute("href") !== url) link.setAttribute("href", url);
  };

  const apply = (data) => {
    const now = Date.now();
    ends = new Map();
    for (const c of data.candidates) {
      const row = monitor.querySelector(`tr[data-candidate="${c.id}"]`);
      if (!row) continue;
      row.className = `state-${c.status}`;
      write(cell(row, "status"), c.label);
      write(cell(row, "saved"), c.last_saved);
      write(cell(row, "score"), c.score);
      const typing = cell(row, "typing");
      if (typing && c.typing) {
        write(typing, c.typing.label);
        if (typing.dataset.state !== c.typing.state) typing.dataset.state = c.typing.state;
      }
      if (c.seconds_left === null) write(cell(row, "left"), "");
      else ends.set(row, now + c.seconds_left * 1000);
      sheetLink(row, c.sheet_url);
    }
    for (const [key, badge] of Object.entries(data.summary)) {
      write(monitor.querySelector(`[data-summary="${key}"]`), badge.text);
    }
    write(document.getElementById("monitor-as-of"), data.as_of);
    tick();
  };

  const poll = async () => {
    try {
      const resp = await fetch(monitor.dataset.pollUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (resp.ok) apply(await resp.json());
    } catch (err) {
      // A dropped request is retried on the next poll.
    }
    window.setTimeout(poll, every);
  };

  const start = Date.now();
  for (const left of monitor.querySelectorAll("[data-field='left'][data-seconds]")) {
    ends.set(left.closest("tr"), start + Number(left.dataset.seconds) * 1000);
  }
  window.setInterval(tick, 1000);
  window.setTimeout(poll, every);
});
