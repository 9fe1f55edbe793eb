// Gantry jobs dashboard: actions, local times, live overview. No dependencies.
(function () {
  "use strict";
  var body = document.body;
  var prefix = body.dataset.prefix || "";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var SVG = "http://www.w3.org/2000/svg";

  function flash(msg, isError) {
    var el = document.getElementById("flash");
    if (!el) return;
    el.textContent = msg;
    el.className = "flash" + (isError ? " error" : "");
    el.hidden = false;
  }

  // Show the message an action left before the page reloaded.
  try {
    var left = sessionStorage.getItem("jobs-flash");
    if (left) { sessionStorage.removeItem("jobs-flash"); flash(left, false); }
  } catch (e) { /* storage off */ }

  // <time> elements: the reader's local time, with "3 min ago" on hover.
  function ago(ms) {
    var s = Math.round(ms / 1000), future = s < 0;
    s = Math.abs(s);
    var t = s < 60 ? s + " s" : s < 3600 ? Math.round(s / 60) + " min" : s < 86400 ? Math.round(s / 3600) + " h" : Math.round(s / 86400) + " d";
    return future ? "in " + t : t + " ago";
  }
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = el.textContent + " · " + ago(Date.now() - d.getTime());
      el.textContent = d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    });
  }
  localTimes(document);

  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  // Actions: POST to the JSON API with the CSRF header, then reload.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("button[data-action]");
    if (!btn) return;
    ev.preventDefault();
    if (btn.dataset.confirm && !window.confirm(btn.dataset.confirm)) return;
    var headers = { "Accept": "application/json" };
    if (csrfMeta) headers["X-CSRF-Token"] = csrfMeta.content;
    btn.disabled = true;
    fetch(btn.dataset.action, { method: "POST", headers: headers, credentials: "same-origin" })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (data) { return { ok: res.ok, status: res.status, data: data }; });
      })
      .then(function (r) {
        if (!r.ok) {
          var msg = (r.data && r.data.error && r.data.error.message) || ("HTTP " + r.status);
          flash("Failed: " + msg, true);
          btn.disabled = false;
          return;
        }
        var d = r.data || {};
        var text = (btn.textContent || d.action || "Done").trim() + ": done" + (d.affected > 1 ? " (" + d.affected + " jobs)" : "");
        try { sessionStorage.setItem("jobs-flash", text); } catch (e) { /* storage off */ }
        if (btn.dataset.after) window.location.assign(btn.dataset.after);
        else window.location.reload();
      })
      .catch(function (err) {
        flash("Failed: " + err, true);
        btn.disabled = false;
      });
  });

  // ---- Overview: charts and live counts ----
  var dataEl = document.getElementById("stats-data");
  if (!dataEl) return;

  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }

  // bars draws processed (light) and failed (solid) attempts per minute.
  function bars(container, history, withAxis) {
    var w = container.clientWidth || 300, h = container.clientHeight || 100;
    var padL = withAxis ? 34 : 0, padB = withAxis ? 16 : 0, padT = withAxis ? 6 : 1;
    var svg = el("svg", { viewBox: "0 0 " + w + " " + h, preserveAspectRatio: "none", "aria-hidden": "true" });
    var max = 0;
    history.forEach(function (m) { max = Math.max(max, m.processed); });
    var n = Math.max(history.length, 1), slot = (w - padL) / n, bw = Math.max(1, slot * 0.75);
    var ih = h - padB - padT;
    history.forEach(function (m, i) {
      var x = padL + i * slot + (slot - bw) / 2;
      var ph = max ? (m.processed / max) * ih : 0, fh = max ? (m.failed / max) * ih : 0;
      var r = el("rect", { x: x.toFixed(1), y: (padT + ih - ph).toFixed(1), width: bw.toFixed(1), height: ph.toFixed(1), "class": "bar-processed" });
      r.appendChild(el("title", {}, new Date(m.minute).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ": " + m.processed + " processed, " + m.failed + " failed"));
      svg.appendChild(r);
      if (fh > 0) svg.appendChild(el("rect", { x: x.toFixed(1), y: (padT + ih - fh).toFixed(1), width: bw.toFixed(1), height: fh.toFixed(1), "class": "bar-failed" }));
    });
    if (withAxis) {
      svg.appendChild(el("line", { x1: padL, y1: padT + ih + 0.5, x2: w, y2: padT + ih + 0.5, "class": "axis" }));
      svg.appendChild(el("text", { x: padL - 4, y: padT + 8, "text-anchor": "end", "class": "axis-label" }, String(max)));
      svg.appendChild(el("text", { x: padL - 4, y: padT + ih, "text-anchor": "end", "class": "axis-label" }, "0"));
      if (history.length) {
        var fmt = function (m) { return new Date(m.minute).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); };
        svg.appendChild(el("text", { x: padL, y: h - 3, "class": "axis-label" }, fmt(history[0])));
        svg.appendChild(el("text", { x: w, y: h - 3, "text-anchor": "end", "class": "axis-label" }, fmt(history[history.length - 1])));
      }
    }
    container.replaceChildren(svg);
  }

  function total(queues) {
    var byMinute = {}, order = [];
    queues.forEach(function (q) {
      (q.history || []).forEach(function (m) {
        if (!byMinute[m.minute]) { byMinute[m.minute] = { minute: m.minute, processed: 0, failed: 0 }; order.push(m.minute); }
        byMinute[m.minute].processed += m.processed;
        byMinute[m.minute].failed += m.failed;
      });
    });
    order.sort();
    return order.map(function (k) { return byMinute[k]; });
  }

  function fmtNum(n) { return Number(n).toLocaleString("en-US"); }
  function fmtMs(ms) {
    if (ms <= 0) return "0";
    if (ms < 1000) return ms + "ms";
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }

  var known = null, last = null;
  function draw(list) {
    last = list;
    var queues = list.queues || [];
    var names = queues.map(function (q) { return q.name; }).join("\n");
    if (known !== null && names !== known) { window.location.reload(); return; }
    known = names;
    var chart = document.getElementById("throughput-chart");
    if (chart) bars(chart, total(queues), true);
    var totals = {};
    queues.forEach(function (q) {
      var row = document.querySelector('tr[data-testid="queue-row"][data-queue="' + CSS.escape(q.name) + '"]');
      if (!row) return;
      Object.keys(q.counts).forEach(function (state) {
        totals[state] = (totals[state] || 0) + q.counts[state];
        var cell = row.querySelector('td[data-state="' + state + '"]');
        if (!cell) return;
        var a = cell.querySelector("a") || cell;
        a.textContent = fmtNum(q.counts[state]);
        cell.classList.toggle("zero", q.counts[state] === 0);
      });
      var set = function (field, text) { var c = row.querySelector('[data-field="' + field + '"]'); if (c) c.textContent = text; };
      set("latency", q.counts.pending > 0 ? fmtMs(q.latency_ms) : "\u2013"); // nothing waits: no latency
      set("processed", fmtNum(q.processed));
      set("failed", fmtNum(q.failed));
      var badge = row.querySelector('[data-testid="queue-paused"]');
      if (q.paused && !badge) {
        badge = document.createElement("span");
        badge.className = "badge paused";
        badge.dataset.testid = "queue-paused";
        badge.textContent = "paused";
        row.querySelector("th").append(" ", badge);
      } else if (!q.paused && badge) {
        badge.remove();
      }
      var spark = row.querySelector('[data-testid="queue-chart"]');
      if (spark) bars(spark, q.history || [], false);
    });
    Object.keys(totals).forEach(function (state) {
      var c = document.querySelector('[data-testid="total-' + state + '"]');
      if (c) c.textContent = fmtNum(totals[state]);
    });
  }

  try { draw(JSON.parse(dataEl.textContent)); } catch (e) { /* keep the server-rendered numbers */ }

  var live = document.querySelector('[data-testid="live-indicator"]');
  var every = Math.max(1000, Number(body.dataset.refreshMs) || 3000);
  function poll() {
    if (document.hidden) { setTimeout(poll, every); return; }
    fetch(prefix + "/api/queues", { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (res) { if (!res.ok) throw new Error("HTTP " + res.status); return res.json(); })
      .then(function (list) { draw(list); if (live) { live.classList.remove("stale"); live.textContent = "live"; } })
      .catch(function () { if (live) { live.classList.add("stale"); live.textContent = "offline"; } })
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
  var resizing;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () { if (last) draw(last); }, 200);
  });
})();
