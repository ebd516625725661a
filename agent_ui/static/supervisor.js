/* The supervisor view. No build step: plain browser JavaScript.
 *
 * Live: the socket /supervisor/ws sends the whole board whenever it changes (and at connect);
 * the page redraws from it and counts waits and times in state up every second from the
 * timestamps it carries. Actions (presence, move, whisper) go through the JSON API; their
 * effect comes back as the next board. Reports: GET /api/reports, drawn as a table and a chart
 * (uPlot, vendored) and offered as CSV. Everything people typed is put in the page as text.
 */
(function () {
  "use strict";
  var h = window.ccDom.h, api = window.ccApi.call, failed = window.ccApi.failed;
  var CHANNEL = {chat: "Chat", sms: "SMS", email: "Email", voice: "Voice", voicemail: "Voicemail"};
  var STATE = {available: "Available", busy: "Busy", wrapup: "Wrap-up", away: "Away", offline: "Offline"};
  var board = null, socket = null, retry = 0, lastHeard = 0, me = null, seenAlerts = {}, viewing = null;
  var chart = null;

  function $(id) { return document.getElementById(id); }
  var toast = window.ccDom.toast;
  function clock(seconds) {
    if (seconds === null || seconds === undefined) return "\u2013";
    seconds = Math.max(0, Math.round(seconds));
    var hrs = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    return (hrs ? hrs + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
  }
  function pct(x) { return x === null || x === undefined ? "\u2013" : Math.round(x * 1000) / 10 + " %"; }
  function secs(x) { return x === null || x === undefined ? "\u2013" : clock(x); }
  function since(iso) { return iso ? (Date.now() - Date.parse(iso)) / 1000 : null; }
  function ticking(iso) { return h("span", {cls: "ticking", "data-since": iso || "", text: iso ? clock(since(iso)) : "\u2013"}); }

  // ---- signing in and out (login.js draws the card) ------------------------------------------
  function stop() {
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
  }
  function start(data) {
    if (data.user.role !== "supervisor" && data.user.role !== "admin") {
      window.ccLogin.show("This page is for supervisors. " + data.user.display_name +
                          " is an agent: use the console.");
      return;
    }
    me = data.user;
    $("me-name").textContent = me.display_name;
    connect();
    initReports();
  }

  // ---- socket ----------------------------------------------------------------------------------
  function setConn(ok, text) {
    $("conn").classList.toggle("ok", ok);
    $("conn-text").textContent = text;
  }
  function connect() {
    if (socket) return;
    socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/supervisor/ws");
    socket.onopen = function () { lastHeard = Date.now(); };
    socket.onmessage = function (e) {
      lastHeard = Date.now();
      var f; try { f = JSON.parse(e.data); } catch (err) { return; }
      // Live once a board arrives: a socket can open while the server's feed is down.
      if (f.type === "board") { retry = 0; setConn(true, "Live"); board = f.board; draw(); }
    };
    socket.onclose = function (e) {
      socket = null;
      setConn(false, "Reconnecting\u2026");
      if (e.code === 4401 || e.code === 1008) return;
      var wait = Math.min(5000, 500 * Math.pow(2, retry++)) + Math.random() * 500;
      setTimeout(function () {
        api("GET", "/api/me").then(function (r) { if (r.ok) connect(); }, connect);
      }, wait);
    };
  }
  setInterval(function () {  // a silent socket is a dead one: the server sends at least every 20 s
    if (socket && socket.readyState === 1) {
      if (Date.now() - lastHeard > 60000) socket.close(); else socket.send(JSON.stringify({type: "ping"}));
    }
  }, 25000);

  // ---- drawing the board -----------------------------------------------------------------------
  function cells(tr, values) {
    values.forEach(function (v) { tr.appendChild(v instanceof Node ? h("td", {}, [v]) : h("td", {text: String(v)})); });
    return tr;
  }
  function level(value, target) {
    var el = h("span", {text: pct(value)});
    if (value !== null && value !== undefined && target) el.className = value >= target ? "good" : "bad";
    return el;
  }
  function draw() {
    $("day").textContent = "today (" + new Date(board.day_start).toLocaleDateString([], {timeZone: board.timezone}) +
                           ", " + board.timezone + ")";
    drawAlerts(); drawQueues(); drawChannels(); drawWaiting(); drawAgents(); fillWhatIfQueues(); defaultDays();
    if (viewing) openInteraction(viewing, true);
  }
  function drawAlerts() {
    var list = $("alerts");
    list.textContent = "";
    board.alerts.forEach(function (a) {
      var key = a.kind + ":" + (a.queue || a.case_id) + ":" + (a.due_at || "");
      var fresh = !seenAlerts[key];
      seenAlerts[key] = true;
      var li = h("li", {cls: "alert " + a.severity + " " + a.kind + (fresh ? " fresh" : ""), role: "alert"}, [a.text]);
      if (a.kind === "oldest_wait") li.appendChild(h("span", {}, [" \u00b7 ", ticking(a.since)]));
      list.appendChild(li);
      if (fresh && a.kind === "sla_breached") toast(a.text, "bad");
    });
    if (!board.alerts.length) list.appendChild(h("li", {cls: "alert calm", text: "All queues within target."}));
  }
  function drawQueues() {
    var body = $("queues").querySelector("tbody");
    body.textContent = "";
    board.queues.forEach(function (q) {
      var ag = q.agents, st = q.staffing;
      var needed = h("span", {text: String(st.needed), title: st.load ? "load " + st.load.toFixed(2) +
        " Erlangs: " + (st.arrival_rate * 3600).toFixed(1) + " arrivals/h \u00d7 AHT " + clock(st.aht_seconds) : "no recent arrivals"});
      if (st.needed > ag.staffed - ag.away) needed.className = "bad";
      body.appendChild(cells(h("tr", {"data-queue": q.name}), [
        h("b", {text: q.label}), q.waiting, q.oldest_since ? ticking(q.oldest_since) : "\u2013",
        ag.staffed, needed, ag.available, ag.busy, ag.wrapup, ag.away,
        q.offered, q.answered, q.abandoned, level(q.service_level, q.target),
        level(q.service_level_with_abandons, q.target), secs(q.asa_seconds), secs(q.aht_seconds),
        pct(q.abandon_rate), pct(q.occupancy),
      ]));
    });
  }
  function drawChannels() {
    var body = $("channels").querySelector("tbody");
    body.textContent = "";
    board.channels.forEach(function (c) {
      body.appendChild(cells(h("tr", {"data-channel": c.name}), [
        h("span", {cls: "chan " + c.name, text: CHANNEL[c.name] || c.name}), c.waiting,
        c.oldest_since ? ticking(c.oldest_since) : "\u2013", c.agents.available, c.agents.busy,
        c.agents.wrapup, c.offered, c.answered, c.abandoned, pct(c.service_level),
        pct(c.service_level_with_abandons), secs(c.asa_seconds), secs(c.aht_seconds),
        pct(c.abandon_rate), pct(c.occupancy),
      ]));
    });
  }
  function moveControl(w) {
    var sel = h("select", {"aria-label": "Move " + w.customer, onchange: function (e) {
      var v = e.target.value;
      if (!v) return;
      var to = v.slice(0, 2) === "q:" ? {queue: v.slice(2)} : {agent: Number(v.slice(2))};
      api("POST", "/api/interactions/" + w.id + "/transfer", to).then(function (r) {
        toast(r.ok ? "Moved." : failed(r), r.ok ? "" : "bad");
      });
    }}, [h("option", {value: "", text: "Move to\u2026"})]);
    var queues = h("optgroup", {label: "Queue"}), agents = h("optgroup", {label: "Agent"});
    board.queues.forEach(function (q) { if (q.name !== w.queue) queues.appendChild(h("option", {value: "q:" + q.name, text: q.label})); });
    board.agents.forEach(function (a) { if (a.state !== "offline") agents.appendChild(h("option", {value: "a:" + a.id, text: a.name})); });
    sel.appendChild(queues); sel.appendChild(agents);
    return sel;
  }
  function drawWaiting() {
    var list = $("waiting");
    list.textContent = "";
    board.waiting.forEach(function (w) {
      list.appendChild(h("li", {"data-id": w.id}, [
        h("span", {cls: "chan " + w.channel, text: CHANNEL[w.channel] || w.channel}),
        h("button", {cls: "linkish", type: "button", text: w.customer, onclick: function () { openInteraction(w.id); }}),
        h("span", {cls: "muted", text: queueLabel(w.queue) + (w.state === "offered" ? " \u00b7 offered" : "")}),
        ticking(w.queued_at), moveControl(w),
      ]));
    });
    if (board.waiting_total > board.waiting.length) {
      list.appendChild(h("li", {cls: "more muted", text: "and " + (board.waiting_total - board.waiting.length).toLocaleString() +
                                " more, shorter waits"}));
    }
    $("no-waiting").hidden = board.waiting.length > 0;
  }
  function queueLabel(name) {
    var q = board.queues.filter(function (x) { return x.name === name; })[0];
    return q ? q.label : name;
  }
  function presenceControl(a) {
    var sel = h("select", {"aria-label": "Presence of " + a.name, onchange: function (e) {
      api("PUT", "/api/agents/" + a.id + "/presence", {presence: e.target.value}).then(function (r) {
        if (!r.ok) toast(failed(r), "bad");
      });
    }}, ["available", "away", "offline"].map(function (p) { return h("option", {value: p, text: STATE[p]}); }));
    sel.value = a.state === "offline" ? "offline" : a.state === "away" ? "away" : "available";
    return sel;
  }
  function drawAgents() {
    var body = $("agents").querySelector("tbody");
    body.textContent = "";
    board.agents.forEach(function (a) {
      var work = h("span", {cls: "work"}, a.interactions.map(function (w) {
        return h("button", {cls: "chip " + w.state, type: "button", title: "Open read-only",
                            text: (CHANNEL[w.channel] || w.channel) + " \u00b7 " + w.customer,
                            onclick: function () { openInteraction(w.id); }});
      }));
      body.appendChild(cells(h("tr", {"data-agent": a.id}), [
        h("b", {text: a.name}),
        h("span", {cls: "state " + a.state, text: STATE[a.state] + (a.reason && a.state === "away" ? " \u2013 " + a.reason : "")}),
        a.state === "offline" ? "\u2013" : ticking(a.since), work, a.handled_today, secs(a.aht_seconds),
        pct(a.occupancy), a.missed_offers, presenceControl(a),
      ]));
    });
  }
  function tick() {
    document.querySelectorAll(".ticking").forEach(function (el) {
      var iso = el.getAttribute("data-since");
      if (iso) el.textContent = clock(since(iso));
    });
  }
  setInterval(tick, 1000);

  // ---- one interaction, read-only, with a whisper to its agent -------------------------------
  function openInteraction(id, quiet) {
    viewing = id;
    api("GET", "/api/interactions/" + id).then(function (r) {
      if (!r.ok) { if (!quiet) toast(failed(r), "bad"); return; }
      var v = r.data, list = $("v-messages");
      $("v-title").textContent = v.customer.name + " \u00b7 " + (CHANNEL[v.channel] || v.channel);
      $("v-meta").textContent = v.queue.label + " \u00b7 " + v.state + (v.agent ? " \u00b7 " + v.agent.name : "");
      list.textContent = "";
      v.messages.forEach(function (m) {
        var who = m.direction === "inbound" ? v.customer.name : m.direction === "internal" ? "Note \u00b7 " + (m.author || "")
                : m.automatic ? "Automatic answer" : m.author || "Agent";
        list.appendChild(h("li", {cls: "vm " + m.direction}, [
          h("div", {cls: "muted small", text: who + " \u00b7 " + new Date(m.created_at).toLocaleTimeString()}),
          h("div", {text: m.body}),
        ]));
      });
      $("whisper").hidden = !(v.agent && (v.state === "assigned" || v.state === "wrapup"));
      $("listen").hidden = !(v.channel === "voice" && v.state === "assigned");
      if (!$("viewer").open) $("viewer").showModal();
    });
  }
  $("v-close").addEventListener("click", function () { viewing = null; $("viewer").close(); });
  $("listen").addEventListener("click", function () {
    api("POST", "/api/interactions/" + viewing + "/listen").then(function (r) {
      toast(r.ok ? "Dialling you into the call, muted." : failed(r), r.ok ? "" : "bad");
    });
  });
  $("viewer").addEventListener("close", function () { viewing = null; });
  $("whisper").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target, err = f.querySelector(".form-error");
    api("POST", "/api/interactions/" + viewing + "/whisper", {body: f.body.value}).then(function (r) {
      if (!r.ok) { err.textContent = failed(r); return; }
      err.textContent = ""; f.body.value = ""; toast("Whisper sent."); openInteraction(viewing, true);
    });
  });

  // ---- what if ---------------------------------------------------------------------------------
  function fillWhatIfQueues() {
    var sel = $("wi-queue");
    if (sel.options.length) return;
    board.queues.forEach(function (q) { sel.appendChild(h("option", {value: q.name, text: q.label})); });
    sel.dispatchEvent(new Event("change"));
  }
  $("wi-queue").addEventListener("change", function (e) {  // start from what the queue sees now
    var q = board.queues.filter(function (x) { return x.name === e.target.value; })[0], f = $("whatif");
    if (!q) return;
    f.threshold.value = q.threshold_seconds;
    f.aht.value = Math.round(q.staffing.aht_seconds);
    if (q.staffing.arrival_rate) f.arrivals.value = (q.staffing.arrival_rate * 3600).toFixed(1);
    f.agents.value = Math.max(1, q.staffing.needed || q.agents.staffed);
  });
  $("whatif").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target, out = $("whatif-result"), button = f.querySelector("button");
    var body = {agents: Number(f.agents.value), arrivals_per_hour: Number(f.arrivals.value),
                aht_seconds: Number(f.aht.value), threshold_seconds: Number(f.threshold.value),
                hours: Number(f.hours.value)};
    if (f.patience.value) body.patience_seconds = Number(f.patience.value);
    button.disabled = true; out.textContent = "Simulating\u2026";
    api("POST", "/api/stats/what-if", body).then(function (r) {
      button.disabled = false;
      if (!r.ok) { out.textContent = failed(r); return; }
      var s = r.data.simulated, p = r.data.predicted || {model: "Theory"};  // null: not computable
      var rows = [["Waited at all", pct(s.p_wait), pct(p.p_wait)],
                  ["Service level (" + body.threshold_seconds + " s)", pct(s.service_level), pct(p.service_level)],
                  ["Average speed of answer", secs(s.asa_seconds), secs(p.asa_seconds)],
                  ["Gave up", pct(s.p_abandon), pct(p.p_abandon)],
                  ["Occupancy", pct(s.occupancy), pct(p.occupancy)]];
      out.textContent = "";
      out.appendChild(h("table", {cls: "grid compact", "aria-label": "What-if result"}, [
        h("thead", {}, [h("tr", {}, [h("th", {text: ""}), h("th", {text: "Simulated"}), h("th", {text: p.model})])]),
        h("tbody", {}, rows.map(function (row) { return cells(h("tr"), row); })),
      ]));
      var simulated = r.data.hours_simulated, shortened = simulated < body.hours;
      out.appendChild(h("p", {cls: "muted small", text: s.offered.toLocaleString() + " customers over " +
        simulated + " h with " + body.agents + (body.agents === 1 ? " agent" : " agents") +
        " (the routing engine on a virtual clock" +
        (shortened ? "; fewer hours than asked, as a run holds at most 50,000 customers" : "") + ")."}));
    }, function () { button.disabled = false; out.textContent = "Cannot reach the server."; });
  });

  // ---- tabs ------------------------------------------------------------------------------------
  document.querySelectorAll(".tab").forEach(function (tab) {
    tab.addEventListener("click", function () {
      document.querySelectorAll(".tab").forEach(function (t) {
        var on = t === tab;
        t.classList.toggle("active", on); t.setAttribute("aria-selected", on ? "true" : "false");
        $(t.getAttribute("data-tab")).hidden = !on;
      });
    });
  });

  // ---- reports ---------------------------------------------------------------------------------
  var COLUMNS = {
    interactions: [["offered", "Offered"], ["answered", "Answered"], ["abandoned", "Abandoned"],
                   ["short_abandoned", "Short abandons"], ["refused", "Refused"],
                   ["service_level", "Service level", pct], ["service_level_with_abandons", "SL incl. abandons", pct],
                   ["asa_seconds", "ASA", secs], ["aht_seconds", "AHT", secs], ["abandon_rate", "Abandon rate", pct],
                   ["sla_breaches", "SLA breaches"]],
    agent: [["offers", "Offers"], ["accepted", "Accepted"], ["rejected", "Rejected"], ["missed", "Missed"],
            ["handled", "Handled"], ["aht_seconds", "AHT", secs], ["occupancy", "Occupancy", pct],
            ["sla_breaches", "SLA breaches"]],
  };
  // The form starts on today: the browser's until the first board says the workspace's (the
  // two differ when the supervisor is in another time zone); a date the user chose stays.
  var reportsReady = false, autoDay = "";
  function initReports() {
    if (reportsReady) return;
    reportsReady = true;
    var f = $("report-form");
    autoDay = f.from.value = f.to.value = new Date().toLocaleDateString("en-CA");  // 2026-11-24
    f.addEventListener("submit", function (e) { e.preventDefault(); loadReport(); });
  }
  function defaultDays() {
    var f = $("report-form"), today = new Date().toLocaleDateString("en-CA", {timeZone: board.timezone});
    if (f.from.value === autoDay) f.from.value = today;
    if (f.to.value === autoDay) f.to.value = today;
    autoDay = today;
  }
  // Dates go as dates: the server takes them as days in the workspace's time zone.
  function reportQuery() {
    var f = $("report-form"), to = new Date(f.to.value + "T12:00:00Z");
    to.setUTCDate(to.getUTCDate() + 1);  // "to" is inclusive on the form, exclusive in the API
    return "from=" + f.from.value + "&to=" + to.toISOString().slice(0, 10) +
           "&interval=" + f.interval.value + "&by=" + f.by.value;
  }
  function loadReport() {
    var f = $("report-form");
    if (f.to.value < f.from.value) { toast("The last day is before the first.", "bad"); return; }
    var q = reportQuery();
    $("csv").href = "/api/reports?" + q + "&format=csv";
    api("GET", "/api/reports?" + q).then(function (r) {
      if (!r.ok) { toast(failed(r), "bad"); return; }
      $("tz").textContent = r.data.timezone;
      drawReport(r.data);
      // A long period comes in pages: say where this one stops rather than cut it silently.
      if (r.data.next_from) toast("This report stops before " + label(r.data.next_from, {interval: "day", timezone: r.data.timezone}) +
                                  ": choose fewer days or a longer interval.", "bad");
    });
  }
  // Interval starts are shown as the workspace's clock reads them, wherever the browser is.
  function label(iso, data) {
    var d = new Date(iso), tz = {timeZone: data.timezone};
    return data.interval === "day" ? d.toLocaleDateString([], tz)
      : d.toLocaleDateString([], {timeZone: data.timezone, month: "short", day: "numeric"}) + " " +
        d.toLocaleTimeString([], {timeZone: data.timezone, hour: "2-digit", minute: "2-digit"});
  }
  function drawReport(data) {
    var cols = data.by === "agent" ? COLUMNS.agent : COLUMNS.interactions, table = $("report");
    if (data.by === "channel") cols = cols.filter(function (c) { return c[0] !== "sla_breaches"; });  // cases have no channel
    table.querySelector("thead").textContent = "";
    table.querySelector("thead").appendChild(h("tr", {}, [h("th", {text: "Interval"}), h("th", {text: data.by[0].toUpperCase() + data.by.slice(1)})]
      .concat(cols.map(function (c) { return h("th", {text: c[1]}); }))));
    var body = table.querySelector("tbody");
    body.textContent = "";
    data.rows.forEach(function (row) {
      body.appendChild(cells(h("tr"), [label(row.start, data), row.name].concat(cols.map(function (c) {
        return c[2] ? c[2](row[c[0]]) : row[c[0]];
      }))));
    });
    if (!data.rows.length) body.appendChild(h("tr", {}, [h("td", {colspan: String(cols.length + 2), cls: "muted", text: "Nothing in this period."})]));
    drawChart(data);
  }
  // One point per interval, summed over queues/channels/agents: volumes as lines, and for
  // queues and channels the service level on its own scale.
  function drawChart(data) {
    var box = $("chart"), starts = [], sums = {};
    data.rows.forEach(function (r) {
      if (!sums[r.start]) { sums[r.start] = {a: 0, b: 0, c: 0, within: 0}; starts.push(r.start); }
      var s = sums[r.start];
      if (data.by === "agent") { s.a += r.offers; s.b += r.handled; s.c += r.missed; }
      else { s.a += r.offered; s.b += r.answered; s.c += r.abandoned; s.within += r.answered_within; }
    });
    // Every interval of the period gets a point, the quiet ones at zero.
    var step = (data.interval === "day" ? 1440 : Number(data.interval)) * 60000;
    for (var t = Date.parse(data.from); t < Date.parse(data.to) && starts.length < 5000; t += step) {
      var iso = new Date(t).toISOString().replace(".000Z", "+00:00");
      if (!sums[iso] && !starts.some(function (s) { return Date.parse(s) === t; })) {
        sums[iso] = {a: 0, b: 0, c: 0, within: 0}; starts.push(iso);
      }
    }
    starts.sort(function (x, y) { return Date.parse(x) - Date.parse(y); });
    if (chart) { chart.destroy(); chart = null; }
    box.textContent = "";
    if (!data.rows.length || !window.uPlot) return;
    var xs = starts.map(function (s) { return Date.parse(s) / 1000; });
    var names = data.by === "agent" ? ["Offers", "Handled", "Missed"] : ["Offered", "Answered", "Abandoned"];
    var series = [{}, {label: names[0], stroke: "#2563eb", width: 2}, {label: names[1], stroke: "#16a34a", width: 2},
                  {label: names[2], stroke: "#dc2626", width: 2}];
    var values = [xs, starts.map(function (s) { return sums[s].a; }), starts.map(function (s) { return sums[s].b; }),
                  starts.map(function (s) { return sums[s].c; })];
    var axes = [{}, {label: "Interactions"}];
    if (data.by !== "agent") {
      series.push({label: "Service level %", stroke: "#7c3aed", dash: [6, 4], scale: "%", width: 2});
      values.push(starts.map(function (s) { return sums[s].b ? 100 * sums[s].within / sums[s].b : null; }));
      axes.push({scale: "%", side: 1, grid: {show: false}, label: "Service level %"});
    }
    chart = new window.uPlot({width: Math.max(320, box.clientWidth || 800), height: 260, series: series, axes: axes,
                              scales: {"%": {range: [0, 100]}},
                              tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), data.timezone); }},
                             values, box);
  }

  // ---- start -------------------------------------------------------------------------------------
  window.ccLogin.mount("Supervisor", "Sign in with a supervisor or admin account.", start, stop);
})();
