// The typing page: only text the input method has committed counts; paste, drop, undo and
// autocorrect are blocked and counted; the caret stays at the end; the whole text goes to
// the server with a snapshot every few seconds (kept in the tab until acknowledged), and
// the server, not this page, scores it from the text and its own clock.
"use strict";

(() => {
  const root = document.getElementById("typing");
  if (!root) return;
  const msg = root.dataset;
  const input = document.getElementById("typing-input");
  const form = document.getElementById("typing-form");
  const finalField = form.querySelector('input[name="final"]');
  const csrf = form.querySelector('input[name="csrf_token"]').value;
  const statusEl = document.getElementById("save-status");
  const timerEl = document.getElementById("timer");
  const speedEl = document.getElementById("live-speed");
  const accuracyEl = document.getElementById("live-accuracy");
  const blockedNote = document.getElementById("blocked-note");
  const practice = msg.practice === "1";
  const listen = msg.listen === "1";
  const SNAPSHOT_MS = 5000;
  const BAND = 40;

  // Time as the server counts it, on this computer's monotonic clock.
  const startedAt = performance.now() - Number(msg.elapsedMs);
  let endsAt = performance.now() + Number(msg.msLeft);
  const elapsedMs = () => Math.max(0, Math.round(performance.now() - startedAt));

  // --- what counts: the committed text --------------------------------------------------
  const storeKey = `typing:${msg.snapshotUrl}`;
  let seq = Number(msg.seq);
  let committed = input.value;
  let composing = false;
  let acked = Number(msg.seq) > 0 ? committed : "";
  let lastAckedSeq = Number(msg.seq);

  const evidence = {
    keys: 0, compositions: 0, deletions: 0, pastes: 0, longest_commit: 0, idle_ms: 0,
    key_gap_mean_ms: 0, key_gap_sd_ms: 0,
  };
  try {
    const kept = JSON.parse(sessionStorage.getItem(storeKey) || "null");
    if (kept && kept.seq > seq && typeof kept.text === "string") {
      committed = kept.text; // typed before a reload, not yet acknowledged
      input.value = committed;
      seq = kept.seq;
    }
    // The counters go on from where this tab left them (the server adds pages up anyway).
    if (kept && kept.evidence && typeof kept.evidence === "object") {
      for (const key of Object.keys(evidence)) {
        if (typeof kept.evidence[key] === "number") evidence[key] = kept.evidence[key];
      }
    }
  } catch (err) { /* private mode */ }
  let gapN = 0;
  let gapMean = 0;
  let gapM2 = 0;
  let lastKeyAt = null;
  const IDLE_MS = 3000;

  const noteKeyGap = () => {
    const now = performance.now();
    if (lastKeyAt !== null) {
      const gap = now - lastKeyAt;
      if (gap > IDLE_MS) {
        evidence.idle_ms += Math.round(gap);
      } else {
        gapN += 1;
        const delta = gap - gapMean;
        gapMean += delta / gapN;
        gapM2 += delta * (gap - gapMean);
        evidence.key_gap_mean_ms = Math.round(gapMean * 10) / 10;
        evidence.key_gap_sd_ms = gapN > 1 ? Math.round(Math.sqrt(gapM2 / (gapN - 1)) * 10) / 10 : 0;
      }
    }
    lastKeyAt = now;
  };

  const keepCaretAtEnd = () => {
    if (composing) return;
    const end = input.value.length;
    if (input.selectionStart !== end || input.selectionEnd !== end) input.setSelectionRange(end, end);
  };

  const commit = () => {
    const value = input.value;
    const added = value.length - committed.length;
    if (added > evidence.longest_commit) evidence.longest_commit = added;
    committed = value;
    keepCaretAtEnd();
    remember();
    scheduleRender();
  };

  const remember = () => {
    try {
      sessionStorage.setItem(storeKey, JSON.stringify({ seq: seq + 1, text: committed, evidence }));
    } catch (err) { /* private mode */ }
  };

  const blocked = (event) => {
    event.preventDefault();
    evidence.pastes += 1;
    blockedNote.textContent = msg.msgBlocked;
    blockedNote.hidden = false;
  };

  const BLOCKED_INPUT = new Set([
    "insertFromPaste", "insertFromPasteAsQuotation", "insertFromDrop", "insertFromYank",
    "insertReplacementText", "insertTranspose", "historyUndo", "historyRedo", "deleteByCut",
    "deleteByDrag",
  ]);
  const CARET_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"]);

  input.addEventListener("keydown", (event) => {
    evidence.keys += 1;
    noteKeyGap();
    const inIme = event.isComposing || event.keyCode === 229 || composing;
    if (inIme) return; // the input method handles its own keys (pinyin, candidates)
    const key = event.key.toLowerCase();
    if ((event.ctrlKey || event.metaKey) && ["z", "y", "v", "x"].includes(key)) {
      blocked(event);
    } else if (CARET_KEYS.has(event.key)) {
      event.preventDefault(); // the caret stays at the end: text is typed, not edited
    } else if (event.key === "Backspace" || event.key === "Delete") {
      evidence.deletions += 1;
    }
  });
  input.addEventListener("compositionstart", () => { composing = true; });
  input.addEventListener("compositionend", () => {
    composing = false;
    evidence.compositions += 1;
    commit();
  });
  input.addEventListener("beforeinput", (event) => {
    if (BLOCKED_INPUT.has(event.inputType)) blocked(event);
  });
  for (const name of ["paste", "drop", "cut"]) input.addEventListener(name, blocked);
  input.addEventListener("dragover", (event) => event.preventDefault());
  input.addEventListener("input", (event) => {
    if (event.isComposing || composing) return; // not committed yet
    commit();
  });
  for (const name of ["click", "focus", "select", "mouseup", "keyup"]) {
    input.addEventListener(name, keepCaretAtEnd);
  }

  // --- live marking and figures (the server's alignment is the one that counts) ---------
  const equivalents = JSON.parse(msg.equivalents || "{}");
  const keyOf = (ch) => equivalents[ch] || ch;
  const isSpace = (ch) => /\s/u.test(ch) || ch === "\u200b" || ch === "\ufeff";
  const passageUnits = [];
  const spans = [...document.querySelectorAll("#passage span")];
  spans.forEach((span, i) => {
    if (!isSpace(span.textContent)) passageUnits.push({ key: keyOf(span.textContent), span: i });
  });

  // Banded edit alignment of the typed units with the start of the passage: a skipped or
  // extra character is one error, and the rest of the line still lines up.
  const align = (typed) => {
    const n = typed.length;
    const m = passageUnits.length;
    const width = 2 * BAND + 1;
    const INF = 1 << 28;
    const cost = new Int32Array((n + 1) * width).fill(INF);
    const move = new Uint8Array((n + 1) * width); // 1 ok/wrong, 2 missing, 3 extra
    const at = (i, j) => i * width + (j - i + BAND);
    for (let j = 0; j <= Math.min(m, BAND); j += 1) { cost[at(0, j)] = j; move[at(0, j)] = 2; }
    for (let i = 1; i <= n; i += 1) {
      for (let j = Math.max(0, i - BAND); j <= Math.min(m, i + BAND); j += 1) {
        let best = INF;
        let how = 0;
        if (j > 0 && Math.abs(j - 1 - (i - 1)) <= BAND) {
          const c = cost[at(i - 1, j - 1)] + (typed[i - 1] === passageUnits[j - 1].key ? 0 : 1);
          if (c < best) { best = c; how = 1; }
        }
        if (j > 0 && Math.abs(j - 1 - i) <= BAND) {
          const c = cost[at(i, j - 1)] + 1;
          if (c < best) { best = c; how = 2; }
        }
        if (Math.abs(j - (i - 1)) <= BAND) {
          const c = cost[at(i - 1, j)] + 1;
          if (c < best) { best = c; how = 3; }
        }
        cost[at(i, j)] = best;
        move[at(i, j)] = how;
      }
    }
    let end = Math.max(0, n - BAND);
    for (let j = Math.max(0, n - BAND); j <= Math.min(m, n + BAND); j += 1) {
      if (cost[at(n, j)] < cost[at(n, end)] || (cost[at(n, j)] === cost[at(n, end)] && j > end)) end = j;
    }
    const marks = new Array(m).fill("");
    let correct = 0;
    let errors = 0;
    let i = n;
    let j = end;
    while (i > 0 || j > 0) {
      const how = i === 0 ? 2 : move[at(i, j)];
      if (how === 1) {
        const ok = typed[i - 1] === passageUnits[j - 1].key;
        marks[j - 1] = ok ? "ok" : "wrong";
        if (ok) correct += 1; else errors += 1;
        i -= 1; j -= 1;
      } else if (how === 2) {
        marks[j - 1] = "missing"; errors += 1; j -= 1;
      } else {
        errors += 1; i -= 1;
      }
    }
    return { marks, correct, errors, end };
  };

  // Keep the next character to type in view: a long passage scrolls inside its box.
  const passageBox = document.getElementById("passage");
  const followNext = (el) => {
    const box = passageBox.getBoundingClientRect();
    const ch = el.getBoundingClientRect();
    if (ch.top < box.top || ch.bottom > box.bottom - ch.height) {
      passageBox.scrollTop += ch.top - box.top - box.height / 3;
    }
  };

  let renderPending = false;
  const scheduleRender = () => {
    if (renderPending) return;
    renderPending = true;
    requestAnimationFrame(() => { renderPending = false; render(); });
  };
  const typedUnits = () => [...committed].filter((ch) => !isSpace(ch)).map(keyOf);
  let lastMarks = [];
  const typedAll = () => lastEnd >= passageUnits.length && passageUnits.length > 0;
  let lastEnd = 0;
  const render = () => {
    const minutes = Math.max(elapsedMs() / 60000, 1 / 60);
    const typed = typedUnits();
    if (listen || !passageUnits.length) {
      speedEl.textContent = String(Math.round(typed.length / minutes));
      return;
    }
    const { marks, correct, errors, end } = align(typed);
    lastEnd = end;
    marks.forEach((mark, k) => {
      if (mark !== lastMarks[k]) spans[passageUnits[k].span].className = mark;
    });
    const next = passageUnits[end];
    document.querySelectorAll("#passage .next").forEach((el) => el.classList.remove("next"));
    if (next) {
      spans[next.span].classList.add("next");
      followNext(spans[next.span]);
    }
    lastMarks = marks;
    // "Type the whole passage": the last character typed ends the test at once.
    if (msg.whole === "1" && typedAll()) { wantNow = true; sendSnapshot(); }
    speedEl.textContent = String(Math.round(correct / minutes));
    accuracyEl.textContent = correct + errors ? `${Math.round((1000 * correct) / (correct + errors)) / 10}%` : "—";
  };

  // --- snapshots ---------------------------------------------------------------------------
  let inFlight = false;
  let wantNow = false; // a snapshot to send as soon as the one in flight is answered
  let stopped = false;
  let backoffUntil = 0;
  let failures = 0;
  const showPending = () => { statusEl.textContent = msg.msgPending; statusEl.classList.remove("ok"); statusEl.classList.add("warning"); };
  const showSaved = () => {
    const now = new Date();
    const hhmmss = now.toTimeString().slice(0, 8);
    statusEl.textContent = msg.msgSaved.replace("{time}", hhmmss);
    statusEl.classList.remove("warning"); statusEl.classList.add("ok");
  };

  const body = () => JSON.stringify({ seq, text: committed, client_ms: elapsedMs(), evidence });

  // Two snapshots closer than this are refused (429): one wanted sooner waits for the gap.
  const minGapMs = Number(msg.minGapMs) || 600;
  let lastSentAt = -Infinity;
  let gapTimer = null;
  const sendSnapshot = async () => {
    if (stopped || performance.now() < backoffUntil) return;
    if (inFlight) { wantNow = true; return; }
    const wait = lastSentAt + minGapMs - performance.now();
    if (wait > 0) {
      if (!gapTimer) gapTimer = setTimeout(() => { gapTimer = null; sendSnapshot(); }, wait);
      return;
    }
    inFlight = true;
    wantNow = false;
    lastSentAt = performance.now();
    seq += 1;
    const text = committed;
    remember();
    try {
      const resp = await fetch(msg.snapshotUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: body(),
        credentials: "same-origin",
      });
      const data = await resp.json().catch(() => ({}));
      if (resp.ok && data.ok) {
        failures = 0;
        acked = text;
        lastAckedSeq = seq;
        endsAt = performance.now() + Number(data.ms_left);
        showSaved();
        if (data.finished) { stopped = true; finish(false); }
      } else if (resp.status === 429) {
        wantNow = true; // sent too soon after the last one: again in a second, no alarm
        backoffUntil = performance.now() + 1000;
        setTimeout(sendSnapshot, 1050);
      } else if (resp.status === 409) {
        stopped = true;
        if (data.reason === "stale") {
          statusEl.textContent = msg.msgStale;
          input.disabled = true;
        } else {
          finish(false); // finished or time over: the result page says which
        }
      } else {
        if (resp.status === 503) backoff(resp);
        throw new Error(`HTTP ${resp.status}`);
      }
    } catch (err) {
      failures += 1;
      showPending();
      // Full jitter, so a whole centre's pages do not come back in step.
      const jitter = Math.random() * Math.min(30000, 1000 * 2 ** failures);
      backoffUntil = Math.max(backoffUntil, performance.now() + jitter);
    } finally {
      inFlight = false;
      // The server counts the gap from when it took this one: from its answer, to be safe.
      lastSentAt = performance.now();
      if (wantNow && !stopped && committed !== acked) sendSnapshot();
    }
  };
  const backoff = (resp) => {
    const after = Number(resp.headers.get("Retry-After")) || 5;
    backoffUntil = performance.now() + after * 1000 * (0.5 + Math.random());
  };

  // --- finishing ---------------------------------------------------------------------------
  let finishing = false;
  const finish = async (confirmFirst) => {
    if (finishing) return;
    const button = document.getElementById("finish-button");
    // Under a minute a test is not scored (exams.typing.scoring.MIN_SECONDS): say so first.
    const short = !practice && elapsedMs() < 60000;
    // Not data-confirm: app.js would ask a second time, after this has begun to finish.
    const question = short ? button.dataset.finishConfirmShort : button.dataset.finishConfirm;
    if (confirmFirst && !window.confirm(question)) return;
    finishing = true;
    stopped = true;
    input.readOnly = true;
    seq += 1;
    finalField.value = body();
    for (let attempt = 0; ; attempt += 1) {
      try {
        // JSON, not the redirect: following it here would load the result page twice.
        const resp = await fetch(form.action, {
          method: "POST", body: new FormData(form), credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        const data = resp.ok ? await resp.json().catch(() => null) : null;
        if (data && data.location) {
          try { sessionStorage.removeItem(storeKey); } catch (err) { /* private mode */ }
          window.location.assign(data.location);
          return;
        }
        if (resp.status >= 400 && resp.status < 500 && resp.status !== 429) {
          window.location.reload(); // refused (a stale form, signed out): the page says why
          return;
        }
      } catch (err) { /* network down: try again */ }
      showPending();
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(30000, 1000 * 2 ** attempt)));
    }
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); finish(true); });

  // --- the clock -----------------------------------------------------------------------------
  const tick = () => {
    const left = Math.max(0, endsAt - performance.now());
    const s = Math.ceil(left / 1000);
    timerEl.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    if (left <= 0 && !finishing) {
      statusEl.textContent = msg.msgTimeup;
      finish(false);
    }
  };
  setInterval(tick, 250);
  setInterval(() => { sendSnapshot(); scheduleRender(); }, SNAPSHOT_MS);
  window.addEventListener("beforeunload", (event) => {
    if (!finishing && committed !== acked) event.preventDefault();
  });

  // --- listen and type ---------------------------------------------------------------------
  if (listen) {
    const button = document.getElementById("play-button");
    const audio = document.getElementById("recording");
    const left = document.getElementById("plays-left");
    let plays = Number(msg.playsLeft);
    const showPlays = () => {
      left.textContent = msg.msgPlaysLeft.replace("{n}", String(plays));
      button.disabled = plays <= 0;
    };
    showPlays();
    button.addEventListener("click", async () => {
      button.disabled = true;
      const resp = await fetch(msg.playUrl, {
        method: "POST", headers: { "X-CSRFToken": csrf }, credentials: "same-origin",
      });
      const data = await resp.json().catch(() => ({}));
      if (!resp.ok || !data.ok) { plays = 0; showPlays(); return; }
      plays = data.plays_left;
      left.textContent = msg.msgPlaysLeft.replace("{n}", String(plays)); // the button waits for the end
      audio.src = `${msg.audioUrl}?token=${encodeURIComponent(data.token)}`;
      // A play is one hearing: at its end the element lets go of the recording, so that
      // it has nothing left to replay with its own controls or a script.
      audio.addEventListener("ended", () => {
        audio.removeAttribute("src");
        audio.load();
        showPlays();
      }, { once: true });
      audio.play().catch(showPlays);
      input.focus();
    });
  }

  // --- a scored test needs a physical keyboard -------------------------------------------
  const touchOnly = matchMedia("(pointer: coarse)").matches && !matchMedia("(any-pointer: fine)").matches;
  if (touchOnly && !practice) {
    const note = document.getElementById("phone-note");
    note.textContent = msg.msgPhone;
    note.hidden = false;
    input.disabled = true;
  }

  keepCaretAtEnd();
  render();
  if (committed !== acked) showPending();
  input.focus();
})();
