// The exam page: autosave, countdown from the server's seconds, navigator, flags, submit.
// Every answer also lives in the form (and, until saved, in the tab's sessionStorage), so a
// failed save loses nothing: it is retried with backoff, and the page says so until it
// succeeds.
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

  // And how to put one back (answers kept over a reload).
  const writers = {
    choice: (item, name, value) => {
      for (const box of item.querySelectorAll(`input[name="${name}"]`)) box.checked = box.value === value;
    },
    choices: (item, name, value) => {
      const chosen = new Set(Array.isArray(value) ? value : []);
      for (const box of item.querySelectorAll(`input[name="${name}"]`)) box.checked = chosen.has(box.value);
    },
    texts: (item, name, value) => {
      [...item.querySelectorAll(`[name^="${name}_"]`)].forEach((field, i) => {
        field.value = Array.isArray(value) && typeof value[i] === "string" ? value[i] : "";
      });
    },
    text: (item, name, value) => {
      const field = item.querySelector(`[name="${name}"]`);
      if (field) field.value = typeof value === "string" ? value : "";
    },
  };

  const writeAnswer = (item, value) => {
    const question = item.querySelector("[data-answer]");
    const write = writers[question ? question.dataset.answer : "text"] || writers.text;
    write(item, `q${item.dataset.item}`, value);
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

  // Saving through an outage: a save with no answer in SAVE_TIMEOUT_MS is given up and
  // retried (it may still have been stored: see `pending`), and the candidate is warned
  // after SLOW_MS. The n-th retry waits a random time up to min(cap, BASE·2ⁿ) ("full
  // jitter"), so hundreds of pages do not come back at once; after a Retry-After of R it
  // waits R plus that jitter (at most the cap, unless R itself is longer).
  const SAVE_TIMEOUT_MS = 10000;
  const SLOW_MS = 3000;
  const BACKOFF_BASE_MS = 1000;
  const BACKOFF_CAP_MS = 30000;
  // At time-up the server still takes the last answers for a short grace: try often.
  const SUBMIT_CAP_MS = 5000;
  let failures = 0;
  const retryDelay = (retryAfterMs, cap) => {
    const jitter = Math.random() * Math.min(cap, BACKOFF_BASE_MS * 2 ** failures);
    failures += 1;
    if (!retryAfterMs) return Math.max(200, jitter);
    if (retryAfterMs >= cap) return retryAfterMs + Math.random() * BACKOFF_BASE_MS;
    return Math.min(cap, retryAfterMs + jitter);
  };
  const retryAfterOf = (resp) => {
    const seconds = Number(resp.headers.get("Retry-After"));
    return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 120) * 1000 : 0;
  };
  const post = (url, init, timeoutMs) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    return fetch(url, { ...init, signal: controller.signal }).finally(() => clearTimeout(timer));
  };

  // This page's name (a reload is a new page): with the content, it lets the server tell
  // this page's own save sent again after a lost response from another window's save.
  const writer = (() => {
    const bytes = new Uint8Array(9);
    crypto.getRandomValues(bytes);
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  })();

  // The save not yet acknowledged. While nothing changes it is sent again as it was (same
  // seq): if the server stored it before its answer was lost, it says "saved" again. Any
  // newer change makes a new save with a higher seq, carrying everything not yet saved.
  let pending = null;
  let ackedSeq = 0;
  const isEmpty = ({ answers, flags }) => !Object.keys(answers).length && !Object.keys(flags).length;
  const outgoing = () => {
    const now = changes();
    const content = JSON.stringify(now);
    if (!pending || pending.content !== content) pending = { seq: nextSeq(), content, ...now };
    return pending;
  };
  const bodyOf = (p) => JSON.stringify({ seq: p.seq, writer, answers: p.answers, flags: p.flags });

  // Answers not yet saved also live in this tab's storage, so a reload does not lose them.
  const unsentKey = `exam-unsent:${root.dataset.saveUrl}`;
  const keepUnsent = () => {
    try {
      const now = changes();
      if (isEmpty(now)) sessionStorage.removeItem(unsentKey);
      else sessionStorage.setItem(unsentKey, JSON.stringify(now));
    } catch (err) { /* private mode: the page itself still holds them */ }
  };
  const forgetUnsent = () => {
    try { sessionStorage.removeItem(unsentKey); } catch (err) { /* private mode */ }
  };

  // Why the last save was refused when the server could say (an answer it cannot store):
  // the candidate can fix that answer, and the next save carries the fix.
  let refusal = "";
  const warn = () => {
    if (refusal && !submitting) show(refusal, "error");
    else show(submitting ? msg.msgSubmitPending : msg.msgPending, "warning");
  };

  const acknowledge = (p, data) => {
    if (p.seq > ackedSeq) {  // an older save's late answer says nothing new
      ackedSeq = p.seq;
      for (const [id, value] of Object.entries(p.answers)) sent.answers[id] = JSON.stringify(value);
      for (const [id, value] of Object.entries(p.flags)) sent.flags[id] = value;
    }
    if (pending === p) pending = null;
    failures = 0;
    refusal = "";
    keepUnsent();
    if (typeof data.ms_left === "number") endsAt = performance.now() + data.ms_left;
    // The centre's time, as the server formats it (not this computer's zone).
    if (!submitting) show(msg.msgSaved.replace("{time}", data.saved_at_local), "ok");
  };

  // Read the server's answer to save `p`: true when it should be tried again.
  const settle = async (p, resp) => {
    const data = await resp.json().catch(() => ({}));
    if (resp.ok && data.ok) {
      acknowledge(p, data);
    } else if (data.reason === "stale" && p.seq < seq) {
      // This page itself sent a newer save meanwhile (a keepalive, a retry with newer
      // answers), which carries all of this one: nothing is lost, no other window involved.
    } else if (data.reason === "stale") {
      // Another window or device saved: this page's answers are not the latest.
      stopped = true;
      forgetUnsent();
      show(data.message, "error");
    } else if (data.reason === "time_over" || data.reason === "finished") {
      stopped = true;
      forgetUnsent();
      show(data.message, "error");
      // Unless the page is already submitting its last answers (that shows the result).
      if (!submitting) window.location.reload();
    } else {
      // Network trouble, 5xx, 503 (busy), a login page: try again. A refused answer
      // (400) is said as the server put it, and tried again once changed.
      refusal = data.reason === "bad_request" && data.message ? data.message : "";
      return true;
    }
    return false;
  };

  const save = async (retrying = false) => {
    if (stopped || saving) return;
    if (retryTimer && !retrying) return;  // that retry will carry this change too
    retryTimer = null;
    if (!pending && isEmpty(changes())) { dirty = false; return; }
    const p = outgoing();
    dirty = false;
    saving = true;
    keepUnsent();
    const slow = setTimeout(warn, SLOW_MS);
    let wait = 0;
    try {
      const resp = await post(root.dataset.saveUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: bodyOf(p),
      }, SAVE_TIMEOUT_MS);
      if (await settle(p, resp)) wait = retryDelay(retryAfterOf(resp), BACKOFF_CAP_MS);
    } catch (err) {  // no answer: offline, refused, or given up after SAVE_TIMEOUT_MS
      wait = retryDelay(0, BACKOFF_CAP_MS);
    } finally {
      clearTimeout(slow);
      saving = false;
    }
    if (stopped) return;
    if (wait) {
      warn();
      retryTimer = setTimeout(() => save(true), wait);
    } else if (dirty) {
      setTimeout(save, 300);  // changed while this save was on its way
    }
  };

  form.addEventListener("input", () => { dirty = true; refreshNavigator(); keepUnsent(); });
  form.addEventListener("change", () => { dirty = true; refreshNavigator(); keepUnsent(); save(); });
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

  // The last answers travel with the submit itself: whatever the autosave managed, what
  // is on the page when time runs out (or the candidate submits) is what the server keeps.
  // The submit is posted by the script, so a server that does not answer leaves the page
  // (and its answers) in place: it is tried again until the server answers.
  const attemptUrl = form.action.replace(/\/submit$/, "");
  const finalSubmit = (auto) => {
    if (stopped) return;
    stopped = true;
    submitting = true;
    clearTimeout(retryTimer);
    failures = 0;
    submitOnce(auto);
  };
  const submitOnce = async (auto) => {
    const p = outgoing();  // the same final save again while nothing changed
    form.querySelector('input[name="final"]').value = bodyOf(p);
    form.querySelector('input[name="auto"]').value = auto ? "1" : "";
    const slow = setTimeout(warn, SLOW_MS);
    let wait = 0;
    try {
      const resp = await post(form.action, { method: "POST", body: new FormData(form), redirect: "manual" }, SAVE_TIMEOUT_MS);
      if (resp.type === "opaqueredirect" || (resp.status >= 300 && resp.status < 400)) {
        // Taken: the attempt's page shows the result (or why not, in a message).
        forgetUnsent();
        window.location.assign(attemptUrl);
        return;
      }
      if (resp.status >= 400 && resp.status < 500 && ![408, 429].includes(resp.status)) {
        form.submit();  // refused for good (an expired form): show the server's page
        return;
      }
      wait = retryDelay(retryAfterOf(resp), SUBMIT_CAP_MS);
    } catch (err) {
      wait = retryDelay(0, SUBMIT_CAP_MS);
    } finally {
      clearTimeout(slow);
    }
    warn();
    setTimeout(() => submitOnce(auto), wait);
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const missing = refreshNavigator();
    const message = submitButton.dataset.confirmTemplate.replace("{n}", missing);
    if (window.confirm(message)) finalSubmit(false);
  });

  // Leaving or hiding the page: send what is not yet saved with keepalive, so the request
  // outlives the page (a closed tab, a phone locking its screen). It is the pending save
  // itself when nothing changed since, else a newer one carrying everything not yet saved,
  // so a save still in flight that it overtakes loses nothing.
  const flush = () => {
    if (stopped || (!pending && isEmpty(changes()))) return;
    const p = outgoing();
    keepUnsent();
    fetch(root.dataset.saveUrl, {
      method: "POST",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: bodyOf(p),
    }).then((resp) => settle(p, resp)).catch(() => {});
  };
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flush(); });
  window.addEventListener("pagehide", flush);
  // Leaving with unsaved answers: the browser asks first.
  window.addEventListener("beforeunload", (event) => {
    if ((dirty || pending) && !stopped) { flush(); event.preventDefault(); event.returnValue = ""; }
  });

  // Answers given before a reload that never reached the server are put back and saved,
  // unless a save numbered beyond this tab's came since (another window's are newer).
  const restoreUnsent = () => {
    let kept = null;
    try { kept = JSON.parse(sessionStorage.getItem(unsentKey) || "null"); } catch (err) { kept = null; }
    if (!kept || typeof kept !== "object") return;
    if (Number(root.dataset.seq) > storedSeq()) { forgetUnsent(); return; }
    for (const item of items) {
      const id = item.dataset.item;
      if (kept.answers && id in kept.answers) writeAnswer(item, kept.answers[id]);
      if (kept.flags && id in kept.flags) item.querySelector(".flag-box").checked = Boolean(kept.flags[id]);
    }
    if (isEmpty(changes())) { forgetUnsent(); return; }
    dirty = true;
    show(msg.msgRestored, "warning");
    setTimeout(save, 500);
  };
  restoreUnsent();
  refreshNavigator();
  // Last: a page opened at time-up submits at once, and needs everything above.
  tick();
})();
