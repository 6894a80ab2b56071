// The exam page: autosave, countdown from the server's seconds, navigator, flags, submit.
// Every answer also lives in the form, so a failed save loses nothing: it is retried, and
// the page says so until it succeeds.
"use strict";

(() => {
  const root = document.getElementById("exam");
  if (!root) return;
  const form = document.getElementById("exam-form");
  const statusEl = document.getElementById("save-status");
  const timerEl = document.getElementById("timer");
  const submitButton = document.getElementById("submit-button");
  const csrf = form.querySelector('input[name="csrf_token"]').value;
  const items = [...document.querySelectorAll(".exam-item")];
  // Every save sent carries a higher number than any before it, retries included: the
  // server keeps only the newest, so a late retry can never overwrite a newer save.
  // A reload in this tab may render before the previous page's last keepalive save is
  // stored: the tab remembers the numbers it used (another tab does not share them).
  const seqKey = `exam-seq:${root.dataset.saveUrl}`;
  const storedSeq = () => {
    try { return Number(sessionStorage.getItem(seqKey)) || 0; } catch (err) { return 0; }
  };
  let seq = Math.max(Number(root.dataset.seq), storedSeq());
  const nextSeq = () => {
    seq += 1;
    try { sessionStorage.setItem(seqKey, String(seq)); } catch (err) { /* private mode */ }
    return seq;
  };
  let dirty = false;
  let submitting = false;
  let saving = false;
  let stopped = false;
  let retryTimer = null;
  // The deadline as the server counts it, measured on this computer's monotonic clock,
  // so a wrong system clock changes nothing.
  const msg = root.dataset;
  // Each accepted save brings the server's count again (extra time given meanwhile shows).
  let endsAt = performance.now() + Number(root.dataset.msLeft);

  // How to read an answer: each question type declares its kind on the question
  // (data-answer), so this script knows no type by name.
  const readers = {
    choice: (item, name) => {
      const checked = item.querySelector(`input[name="${name}"]:checked`);
      return checked ? checked.value : null;
    },
    choices: (item, name) => [...item.querySelectorAll(`input[name="${name}"]:checked`)].map((b) => b.value),
    texts: (item, name) => [...item.querySelectorAll(`[name^="${name}_"]`)].map((b) => b.value),
    text: (item, name) => {
      const field = item.querySelector(`[name="${name}"]`);
      return field ? field.value : null;
    },
  };

  const answerOf = (item) => {
    const question = item.querySelector("[data-answer]");
    const read = readers[question ? question.dataset.answer : "text"] || readers.text;
    return read(item, `q${item.dataset.item}`);
  };

  // What the server holds, as this page last saw it (the page was rendered from it).
  const sent = { answers: {}, flags: {} };
  for (const item of items) {
    sent.answers[item.dataset.item] = JSON.stringify(answerOf(item));
    sent.flags[item.dataset.item] = item.querySelector(".flag-box").checked;
  }

  const answered = (value) => {
    if (value === null || value === undefined) return false;
    if (Array.isArray(value)) return value.some((v) => String(v).trim() !== "");
    return String(value).trim() !== "";
  };

  const refreshNavigator = () => {
    let missing = 0;
    for (const item of items) {
      const id = item.dataset.item;
      const link = document.getElementById(`nav-${id}`);
      const isAnswered = answered(answerOf(item));
      const flagged = item.querySelector(".flag-box").checked;
      if (!isAnswered) missing += 1;
      link.classList.toggle("answered", isAnswered);
      link.classList.toggle("flagged", flagged);
      link.setAttribute("aria-label", `${link.textContent.trim()} ${isAnswered ? msg.msgAnswered : msg.msgNotAnswered}${flagged ? ` ${msg.msgFlagged}` : ""}`);
    }
    document.getElementById("unanswered-note").textContent = missing
      ? msg.msgUnanswered.replace("{n}", missing) : msg.msgAllAnswered;
    navCount.textContent = `${items.length - missing}/${items.length}`;
    return missing;
  };

  // On a phone the navigator sits behind a button in the sticky bar, always in reach.
  const navigator = document.getElementById("navigator");
  const navToggle = document.getElementById("nav-toggle");
  const navCount = document.getElementById("nav-count");
  const bar = root.querySelector(".exam-bar");
  const setNavOpen = (open) => {
    // Just below the sticky bar, however tall a long title makes it on this screen.
    if (open) navigator.style.top = `${Math.round(bar.getBoundingClientRect().bottom) + 4}px`;
    navigator.classList.toggle("open", open);
    navToggle.setAttribute("aria-expanded", String(open));
  };
  navToggle.addEventListener("click", () => setNavOpen(!navigator.classList.contains("open")));
  navigator.addEventListener("click", (event) => { if (event.target.closest("a")) setNavOpen(false); });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") setNavOpen(false); });

  const show = (text, kind) => {
    statusEl.textContent = text;
    statusEl.className = `save-status ${kind || ""}`;
  };

  // What changed since the last save the server accepted.
  const changes = () => {
    const answers = {};
    const flags = {};
    for (const item of items) {
      const id = item.dataset.item;
      const answer = JSON.stringify(answerOf(item));
      const flag = item.querySelector(".flag-box").checked;
      if (sent.answers[id] !== answer) answers[id] = JSON.parse(answer);
      if (sent.flags[id] !== flag) flags[id] = flag;
    }
    return { answers, flags };
  };

  const save = async () => {
    if (stopped || saving) return;
    saving = true;
    const { answers, flags } = changes();
    const next = nextSeq();
    dirty = false;
    try {
      const resp = await fetch(root.dataset.saveUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ seq: next, answers, flags }),
      });
      const data = await resp.json().catch(() => ({}));
      if (resp.ok && data.ok) {
        for (const [id, value] of Object.entries(answers)) sent.answers[id] = JSON.stringify(value);
        for (const [id, value] of Object.entries(flags)) sent.flags[id] = value;
        if (typeof data.ms_left === "number") endsAt = performance.now() + data.ms_left;
        // The centre's time, as the server formats it (not this computer's zone).
        show(msg.msgSaved.replace("{time}", data.saved_at_local), "ok");
      } else if (data.reason === "stale" && next < seq) {
        // This page itself sent a newer save meanwhile (a keepalive), which carries all
        // of this one: nothing is lost and no other window is involved.
      } else if (data.reason === "stale") {
        stopped = true;
        show(data.message, "error");
      } else if (data.reason === "time_over" || data.reason === "finished") {
        stopped = true;
        show(data.message, "error");
        // Unless the page is already submitting its last answers (that shows the result).
        if (!submitting) window.location.reload();
      } else {
        throw new Error(data.message || resp.statusText);
      }
    } catch (err) {
      dirty = true;
      show(msg.msgRetry, "error");
      clearTimeout(retryTimer);
      retryTimer = setTimeout(save, 3000);
    } finally {
      saving = false;
    }
  };

  form.addEventListener("input", () => { dirty = true; refreshNavigator(); });
  form.addEventListener("change", () => { dirty = true; refreshNavigator(); save(); });
  // Save at least every 15 seconds while something changed (typing in a blank or essay).
  setInterval(() => { if (dirty) save(); }, 15000);
  // Typing pauses also save, so the last words are not left for 15 seconds.
  let typingTimer = null;
  form.addEventListener("keyup", () => { clearTimeout(typingTimer); typingTimer = setTimeout(() => { if (dirty) save(); }, 2000); });

  const tick = () => {
    const left = Math.max(0, Math.round((endsAt - performance.now()) / 1000));
    const m = Math.floor(left / 60);
    const s = String(left % 60).padStart(2, "0");
    timerEl.textContent = `${m}:${s}`;
    timerEl.parentElement.classList.toggle("urgent", left <= 300);
    if (left <= 0 && !stopped) {
      show(msg.msgTimeup, "error");
      finalSubmit(true);
      return;
    }
    setTimeout(tick, 1000 - (performance.now() % 1000));
  };
  tick();

  // The last answers travel with the submit itself: whatever the autosave managed, what
  // is on the page when time runs out (or the candidate submits) is what the server keeps.
  const finalSubmit = (auto) => {
    if (stopped) return;
    stopped = true;
    submitting = true;
    clearTimeout(retryTimer);
    const final = nextSeq();
    form.querySelector('input[name="final"]').value = JSON.stringify({ seq: final, ...changes() });
    form.querySelector('input[name="auto"]').value = auto ? "1" : "";
    form.submit();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const missing = refreshNavigator();
    const message = submitButton.dataset.confirmTemplate.replace("{n}", missing);
    if (window.confirm(message)) finalSubmit(false);
  });

  // Leaving or hiding the page: send what changed with keepalive, so the request outlives
  // the page (a closed tab, a phone locking its screen).
  // It carries everything since the last accepted save, so a save still in flight that it
  // overtakes loses nothing (and is recognised above as this page's own).
  const flush = () => {
    if (stopped || !dirty) return;
    const next = nextSeq();
    fetch(root.dataset.saveUrl, {
      method: "POST",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ seq: next, ...changes() }),
    }).catch(() => {});
  };
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flush(); });
  window.addEventListener("pagehide", flush);
  // Leaving with unsaved answers: the browser asks first.
  window.addEventListener("beforeunload", (event) => {
    if (dirty && !stopped) { flush(); event.preventDefault(); event.returnValue = ""; }
  });
  refreshNavigator();
})();
