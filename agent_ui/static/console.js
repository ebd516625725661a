/* The agent console. No build step: plain browser JavaScript.
 *
 * State comes from one live socket (/console/ws, docs/live-protocol.md): a snapshot at start,
 * then events. The last event id is kept per tab, so a reload or a dropped network resumes
 * exactly where it was. Actions go through the JSON API with the session's CSRF token.
 * Everything people typed is put in the page as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  var CHANNEL = {chat: "Chat", sms: "SMS", email: "Email", voice: "Call", voicemail: "Voicemail"};
  var S = {
    me: null, presence: "offline", reason: "",
    offers: new Map(), convs: new Map(), selected: null,
    queues: [], agents: [], canned: [], awayReasons: [],
    typingUntil: {}, unread: {}, files: {}, readSent: {}, modes: {}, customers: {}, shownOffers: {},
  };
  var socket = null, retry = 0, lastHeard = 0, loggedIn = false;
  // The last event this page applied. Kept in memory only: a reloaded page has no state to
  // apply missed events to, so it starts from a snapshot; a reconnect resumes from here.
  var lastEventId = null;

  // ---- small helpers ---------------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  var h = window.ccDom.h;
  function clock(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function since(iso) { return iso ? (Date.now() - Date.parse(iso)) / 1000 : 0; }
  function until(iso) { return iso ? (Date.parse(iso) - Date.now()) / 1000 : 0; }
  function time(iso) { return iso ? new Date(iso).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) : ""; }
  function first(name) { return String(name || "").split(" ")[0]; }
  function newId() { return crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random().toString(16).slice(2); }
  var toast = window.ccDom.toast;

  var api = window.ccApi.call, failed = window.ccApi.failed;

  // ---- signing in and out (login.js draws the card) ------------------------------------------
  function stop() {
    loggedIn = false; lastEventId = null;
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
  }
  function start(data) {
    S.me = data.user; loggedIn = true;
    $("me-name").textContent = S.me.display_name;
    window.ccTasks.refresh();
    connect();
  }

  // ---- socket ---------------------------------------------------------------------------------------
  function connect() {
    if (socket || !loggedIn) return;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/console/ws";
    socket = new WebSocket(url);
    socket.onopen = function () {
      lastHeard = Date.now();
      socket.send(JSON.stringify({type: "hello", last_event_id: lastEventId}));
    };
    socket.onmessage = function (e) {
      lastHeard = Date.now();
      var f; try { f = JSON.parse(e.data); } catch (err) { return; }
      // Live only once the feed answers: a socket can open while the server's feed is down.
      if (f.type === "snapshot" || f.type === "resumed") { retry = 0; $("conn").hidden = true; }
      if (f.type === "snapshot") { applySnapshot(f.state); remember(f.last_event_id); }
      else if (f.type === "event") { applyEvent(f.event); remember(f.id); }
      else if (f.type === "error") { toast(f.message, "bad"); }
    };
    socket.onclose = function (e) {
      socket = null;
      if (!loggedIn) return;
      $("conn").hidden = false;
      if (e.code === 4401) { window.ccLogin.show(); return; }
      retry = Math.min(retry + 1, 6);
      var wait = Math.min(5000, 500 * Math.pow(2, retry - 1)) * (0.8 + Math.random() * 0.4);
      // A refused handshake looks like any other close: ask whether we are still logged in.
      setTimeout(function () { api("GET", "/api/me").then(function (r) { if (r.ok) connect(); }, connect); }, wait);
    };
  }
  function remember(id) { lastEventId = id; }
  setInterval(function () {
    if (!socket || socket.readyState !== 1) return;
    if (Date.now() - lastHeard > 65000) { socket.close(); return; }
    socket.send(JSON.stringify({type: "ping"}));
  }, 25000);

  function applySnapshot(st) {
    S.presence = st.me.presence; S.reason = st.me.reason;
    S.queues = st.queues; S.agents = st.agents; S.canned = st.canned_responses; S.awayReasons = st.away_reasons;
    S.offers = new Map(st.offers.map(function (o) { return [o.id, o]; }));
    var keep = new Map();
    S.convs.forEach(function (c, id) { if (c.state === "closed" && !c.disposition) keep.set(id, c); });
    st.interactions.forEach(function (c) { keep.set(c.id, c); });
    S.convs = keep;
    if (S.selected && !S.convs.has(S.selected)) S.selected = null;
    if (!S.selected && S.convs.size) S.selected = S.convs.keys().next().value;
    renderAll();
  }

  function fetchInteraction(id) {
    return api("GET", "/api/interactions/" + id).then(function (r) { return r.ok ? r.data : null; });
  }
  function applyEvent(ev) {
    var id = ev.interaction_id, conv = id ? S.convs.get(id) : null;
    switch (ev.kind) {
      case "offer":
        fetchInteraction(id).then(function (v) {
          if (v && v.state === "offered" && v.agent && v.agent.id === S.me.id) {
            S.offers.set(id, v); renderOffers(); notifyOffer();
          }
        });
        break;
      case "offer_ended":
        if (S.offers.delete(id)) toast("Offer " + ev.outcome.replace("_", " ") + ": " + ev.reason);
        renderOffers();
        break;
      case "assigned":
        S.offers.delete(id); renderOffers();
        fetchInteraction(id).then(function (v) {
          if (!v) return;
          S.convs.set(id, v);
          if (!S.selected) S.selected = id;
          renderAll();
        });
        break;
      case "wrapup":
        if (conv) { conv.state = "wrapup"; conv.wrapup_deadline = new Date(ev.deadline * 1000).toISOString(); }
        renderAll();
        break;
      case "ended":
        S.offers.delete(id);
        if (conv) { conv.state = "closed"; if (conv.disposition) dropConv(id); }
        renderAll();
        break;
      case "transferred":
        dropConv(id); renderAll();
        break;
      case "presence":
        S.presence = ev.presence; S.reason = ev.reason; renderPresence();
        if (ev.presence === "offline" || ev.reason === "missed offers") {
          if (ev.reason) toast("You are now " + ev.presence + ": " + ev.reason);
          api("GET", "/api/me/work").then(function (r) { if (r.ok) applySnapshot(r.data); });
        }
        break;
      case "message":
        if (conv) {
          upsertMessage(conv, ev.message);
          if (panelExtras.id === id && panelExtras.nodes[1].refresh) panelExtras.nodes[1].refresh();
          if (ev.message.whisper) alertPerson("Whisper from " + (ev.message.author || "your supervisor"), ev.message.body);
          if (ev.message.direction === "inbound") { S.typingUntil[id] = 0; if (id !== S.selected) S.unread[id] = true; }
          renderConvList(); if (id === S.selected) renderMessages();
        }
        break;
      case "typing":
        if (Date.now() / 1000 - ev.at < 6) { S.typingUntil[id] = Date.now() + 5000; renderTyping(); }
        break;
      case "receipt":
        if (conv) {
          conv.messages.forEach(function (m) { if (m.direction === "outbound" && m.id <= ev.up_to) m.status = ev.status; });
          if (id === S.selected) renderMessages();
        }
        break;
      case "delivery":
        if (conv) {
          conv.messages.forEach(function (m) { if (m.id === ev.message_id) { m.status = ev.status; m.error = ev.error; } });
          if (id === S.selected) renderMessages();
          if (ev.status === "failed" || ev.status === "undelivered") toast("Not delivered: " + (ev.error || ev.status), "bad");
        }
        break;
      case "customer_left":
        if (conv) { conv.customerLeft = true; if (id === S.selected) renderConversation(); }
        break;
      case "task_overdue":
        toast("Task overdue: " + ev.title, "bad");
        window.ccTasks.refresh();
        break;
      case "tasks_changed":
        window.ccTasks.refresh();
        break;
    }
  }
  function dropConv(id) {
    S.convs.delete(id);
    if (S.selected === id) S.selected = S.convs.size ? S.convs.keys().next().value : null;
  }
  function upsertMessage(conv, m) {
    conv.messages = conv.messages || [];
    for (var i = 0; i < conv.messages.length; i++) {
      var x = conv.messages[i];
      if ((m.id && x.id === m.id) || (m.client_id && x.client_id === m.client_id && x.direction === m.direction)) {
        if (x.status === "read" && m.status !== "read") m.status = "read";
        conv.messages[i] = m; return;
      }
    }
    conv.messages.push(m);
  }
  var titleTimer = null;
  // A new offer or a whisper is heard (a short tone, made here: no sound file) and, while the
  // console is in the background, shown as a desktop notification (asked for once, when the
  // agent first sets themselves Available: a browser only asks after a click).
  var audio = null;
  function tone() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.18);
    } catch (e) { /* no audio here: the title and the list still show it */ }
  }
  function alertPerson(title, body) {
    tone();
    if (document.hasFocus() || !("Notification" in window) || Notification.permission !== "granted") return;
    var n = new Notification(title, {body: (body || "").slice(0, 140), tag: "cc-console"});
    n.onclick = function () { window.focus(); n.close(); };
  }
  function askToNotify() {
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
  }
  function notifyOffer() {
    var offer = Array.from(S.offers.values()).slice(-1)[0];
    alertPerson("New offer", offer ? offer.customer.name + " \u00b7 " + (CHANNEL[offer.channel] || offer.channel) : "");
    if (document.hasFocus()) return;
    var base = "Console · Contact center", on = false;
    clearInterval(titleTimer);
    titleTimer = setInterval(function () {
      on = !on; document.title = on ? "\u25cf New offer" : base;
      if (document.hasFocus() || !S.offers.size) { clearInterval(titleTimer); document.title = base; }
    }, 1000);
  }

  // ---- rendering ------------------------------------------------------------------------------------
  function renderAll() {
    renderPresence(); renderOffers(); renderConvList(); renderConversation();
  }
  function renderPresence() {
    var sel = $("presence");
    if (!sel.options.length) {
      sel.appendChild(h("option", {value: "available|", text: "Available"}));
      S.awayReasons.forEach(function (r) { sel.appendChild(h("option", {value: "away|" + r, text: "Away \u2013 " + r})); });
      sel.appendChild(h("option", {value: "offline|", text: "Offline"}));
    }
    var value = S.presence + "|" + (S.presence === "away" ? S.reason : "");
    if (!Array.prototype.some.call(sel.options, function (o) { return o.value === value; })) {
      sel.appendChild(h("option", {value: value, text: "Away \u2013 " + S.reason}));
    }
    sel.value = value;
    $("presence-dot").className = "dot " + S.presence;
  }
  $("presence").addEventListener("change", function (e) {
    askToNotify();
    var parts = e.target.value.split("|");
    api("PUT", "/api/me/presence", {presence: parts[0], reason: parts[1] || ""}).then(function (r) {
      if (!r.ok) toast(failed(r), "bad");
    });
  });

  function renderOffers() {
    var list = $("offers");
    list.textContent = "";
    S.offers.forEach(function (o) {
      var accept = h("button", {cls: "btn primary", type: "button", text: "Accept", title: "Accept (A)",
                                onclick: function () { answer(o.id, "accept", card); }});
      var reject = h("button", {cls: "btn ghost", type: "button", text: "Reject", title: "Reject (R)",
                                onclick: function () { answer(o.id, "reject", card); }});
      var card = h("li", {cls: "offer" + (S.shownOffers[o.id] ? "" : " new"), "data-id": o.id}, [
        h("div", {cls: "offer-top"}, [
          h("span", {cls: "chan " + o.channel, text: CHANNEL[o.channel] || o.channel}),
          h("b", {text: o.customer.name}),
        ]),
        h("div", {cls: "muted small"}, [o.queue.label + " \u00b7 waited ",
          h("span", {cls: "waited", "data-since": o.queued_at, text: clock(since(o.queued_at))})]),
        h("div", {cls: "countdown", "data-deadline": o.offer_deadline, "data-total": Math.max(1, until(o.offer_deadline))},
          [h("span", {cls: "bar"}), h("span", {cls: "left", text: clock(until(o.offer_deadline))})]),
        h("div", {cls: "offer-actions"}, [accept, reject]),
      ]);
      list.appendChild(card);
      S.shownOffers[o.id] = true;
    });
    $("offer-count").textContent = S.offers.size ? String(S.offers.size) : "";
    $("no-offers").hidden = S.offers.size > 0;
    tick();
  }
  function answer(id, what, card) {
    card.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    api("POST", "/api/interactions/" + id + "/" + what).then(function (r) {
      if (!r.ok) { toast(failed(r), "bad"); S.offers.delete(id); renderOffers(); }
      else if (what === "reject") { S.offers.delete(id); renderOffers(); }
    });
  }

  function renderConvList() {
    var list = $("convs"), n = 0;
    list.textContent = "";
    S.convs.forEach(function (c) {
      n++;
      var last = (c.messages || []).filter(function (m) { return m.direction !== "internal"; }).slice(-1)[0];
      // A call's conversation is spoken: its list line shows the last thing that happened.
      var state = c.state === "assigned" ? "" : c.state === "wrapup" ? "Wrap-up" : "Ended";
      var item = h("li", {cls: "conv" + (c.id === S.selected ? " selected" : "") + (S.unread[c.id] ? " unread" : ""),
                          tabindex: "0", "data-id": c.id, title: "Alt+" + n,
                          onclick: function () { select(c.id); },
                          onkeydown: function (e) { if (e.key === "Enter") select(c.id); }}, [
        h("div", {cls: "conv-top"}, [
          h("span", {cls: "chan " + c.channel, text: CHANNEL[c.channel] || c.channel}),
          h("b", {text: c.customer.name}),
          state ? h("span", {cls: "state", text: state}) : null,
        ]),
        h("div", {cls: "muted small ellipsis", text: last ? last.body : c.queue.label}),
      ]);
      list.appendChild(item);
    });
    $("no-convs").hidden = S.convs.size > 0;
  }
  function select(id) {
    S.selected = id; S.unread[id] = false;
    renderConvList(); renderConversation();
    $("reply").focus();
  }

  function renderConversation() {
    var c = S.selected ? S.convs.get(S.selected) : null;
    $("placeholder").hidden = !!c; $("conversation").hidden = !c;
    if (!c) { $("customer").textContent = ""; return; }
    $("c-title").textContent = c.customer.name;
    $("c-meta").textContent = (CHANNEL[c.channel] || c.channel) + " \u00b7 " + c.queue.label +
      (c.subject ? " \u00b7 " + c.subject : "") + (c.answered_at ? " \u00b7 since " + time(c.answered_at) : "");
    var active = c.state === "assigned", replyable = canReply(c), mode = modeOf(c);
    $("end-btn").disabled = !active; $("transfer-btn").disabled = !active;
    showMode(mode);
    $("composer").querySelector("[data-mode=reply]").disabled = !replyable && mode !== "reply";
    // A reply that can no longer go is never turned into a note behind the agent's back.
    $("send-btn").disabled = mode === "reply" && !replyable;
    var wrapping = (c.state === "wrapup" || c.state === "closed") && !c.disposition;
    $("wrapup").hidden = !wrapping;
    if (wrapping) renderWrapup(c);
    $("reply-hint").textContent = mode === "note" ? "Only your team sees internal notes." :
      !replyable ? "This conversation takes no more replies: choose Internal note to keep what you wrote." :
      c.customerLeft ? "The customer has left: a reply may not be read." : "Sent by " + (CHANNEL[c.channel] || c.channel) + ".";
    renderMessages(); renderTyping(); renderCustomer(c); renderFiles();
  }

  // ---- files for the next reply: uploaded as soon as chosen, sent by id with the reply ---------
  function canAttach(c) {
    return !!c && (modeOf(c) === "note" ? c.state === "assigned" || c.state === "wrapup"
                                     : c.state === "assigned" && c.channel === "email");
  }
  function size(bytes) {
    return bytes < 1024 ? bytes + " B" : bytes < 1048576 ? Math.round(bytes / 1024) + " KB"
                                                         : (bytes / 1048576).toFixed(1) + " MB";
  }
  function renderFiles() {
    var c = S.convs.get(S.selected), list = $("reply-files"), files = c ? S.files[c.id] || [] : [];
    $("attach-btn").hidden = !canAttach(c);
    list.textContent = "";
    list.hidden = files.length === 0;
    files.forEach(function (f) {
      list.appendChild(h("li", {cls: f.id ? "" : "uploading"}, [
        f.name + " \u00b7 " + (f.id ? size(f.size) : "uploading\u2026"),
        h("button", {type: "button", "aria-label": "Remove " + f.name, title: "Remove", text: "\u00d7",
                     onclick: function () { S.files[c.id] = files.filter(function (x) { return x !== f; }); renderFiles(); }}),
      ]));
    });
  }
  function upload(c, file) {
    var entry = {name: file.name, size: file.size, id: null}, form = new FormData();
    var drop = function () { S.files[c.id] = (S.files[c.id] || []).filter(function (x) { return x !== entry; }); };
    (S.files[c.id] = S.files[c.id] || []).push(entry);
    form.append("file", file, file.name);
    api("POST", "/api/interactions/" + c.id + "/attachments", form).then(function (r) {
      if (r.ok) { entry.id = r.data.id; entry.name = r.data.filename; entry.size = r.data.size; }
      else { drop(); toast(file.name + " not attached: " + failed(r), "bad"); }
      renderFiles();
    }, function () { drop(); toast(file.name + " not attached: cannot reach the server.", "bad"); renderFiles(); });
  }
  $("attach").addEventListener("change", function (e) {
    var c = S.convs.get(S.selected);
    Array.prototype.forEach.call(e.target.files, function (file) { upload(c, file); });
    e.target.value = "";
    renderFiles();
  });
  function renderMessages() {
    var c = S.convs.get(S.selected), list = $("messages");
    if (!c) return;
    list.textContent = "";
    (c.messages || []).forEach(function (m) {
      if (m.direction === "event") {  // what happened on a call: a line of the timeline
        list.appendChild(h("li", {cls: "system", "data-id": m.id, text: m.body + " \u00b7 " + time(m.created_at)}));
        return;
      }
      var cls = m.direction === "inbound" ? "in" : m.whisper ? "note whisper" : m.direction === "internal" ? "note" : "out";
      var who = m.direction === "inbound" ? c.customer.name : m.automatic ? "Automatic answer" : m.author || "You";
      var meta = [who, time(m.created_at)];
      if (m.direction === "outbound") {
        meta.push(({pending: "Sending\u2026", queued: "Queued", sending: "Sending", sent: "Sent", delivered: "Delivered",
                    read: "Read", undelivered: "Not delivered", failed: "Failed"}[m.status] || m.status) +
                  (m.error ? " (" + m.error + ")" : ""));
      }
      if (m.direction === "internal") meta.unshift(m.whisper ? "Whisper from your supervisor" : "Internal note");
      list.appendChild(h("li", {cls: "msg " + cls + (m.status === "failed" || m.status === "undelivered" ? " failed" : ""),
                                "data-id": m.id || ""}, [
        h("div", {cls: "bubble", text: m.body}),
        m.quoted ? h("details", {cls: "quoted"}, [h("summary", {text: "Earlier messages quoted"}),
                                                  h("pre", {text: m.quoted})]) : null,
        m.html ? formatted(m.html) : null,
        attachments(m),
        h("div", {cls: "meta", text: meta.filter(Boolean).join(" \u00b7 ")}),
      ]));
    });
    if (c.customerLeft) list.appendChild(h("li", {cls: "system", text: "The customer left the conversation."}));
    if (c.state !== "assigned") list.appendChild(h("li", {cls: "system", text: "Conversation ended."}));
    list.scrollTop = list.scrollHeight;
    markRead(c);
  }
  function formatted(html) {
    // The email as its sender formatted it: already sanitised on the server, and shown in a
    // sandboxed frame (no scripts, no access to the console) all the same. Its own policy
    // keeps remote images (tracking pixels: they tell the sender the mail was read, and when)
    // from loading until the agent asks; the files that came with the mail show at once.
    var remote = false;
    var load = h("button", {type: "button", cls: "load-images", text: "Load remote images"});
    var box = h("details", {cls: "formatted"}, [h("summary", {text: "Show as formatted"}), load]);
    function frame() {
      var images = location.origin + " data: blob:" + (remote ? " https: http:" : "");
      var policy = "default-src 'none'; style-src 'unsafe-inline'; img-src " + images;
      return h("iframe", {sandbox: "", referrerpolicy: "no-referrer", title: "Formatted email",
                          srcdoc: '<meta http-equiv="Content-Security-Policy" content="' + policy + '">' +
                                  "<base target=_blank>" + html});
    }
    load.addEventListener("click", function () {
      remote = true; load.hidden = true;
      var shown = box.querySelector("iframe");
      if (shown) shown.replaceWith(frame());
    });
    box.addEventListener("toggle", function () {
      if (box.open && !box.querySelector("iframe")) box.appendChild(frame());
    });
    return box;
  }
  function attachments(m) {
    if (!m.attachments || !m.attachments.length) return null;
    return h("div", {cls: "attachments"}, m.attachments.map(function (a) {
      // At the provider, or kept here (an email's files): nothing else is ever a link.
      var safe = /^(https?:\/\/|\/api\/attachments\/\d+$)/.test(a.url || "") ? a.url : null;
      if (safe && a.content_type.indexOf("audio/") === 0) return h("audio", {controls: "", preload: "none", src: safe});
      return safe ? h("a", {href: safe, target: "_blank", rel: "noopener noreferrer", text: a.filename || a.content_type})
                  : h("span", {text: a.filename || a.content_type});
    }));
  }
  function renderTyping() {
    var until_ = S.typingUntil[S.selected] || 0, c = S.convs.get(S.selected);
    $("typing").textContent = c && Date.now() < until_ ? c.customer.name + " is typing\u2026" : "";
  }
  function markRead(c) {
    if (document.visibilityState !== "visible" || c.state !== "assigned") return;
    var max = 0;
    c.messages.forEach(function (m) { if (m.direction === "inbound" && m.id > max) max = m.id; });
    if (max > (S.readSent[c.id] || 0)) {
      S.readSent[c.id] = max;
      api("POST", "/api/interactions/" + c.id + "/read", {up_to: max});
    }
  }
  document.addEventListener("visibilitychange", function () { var c = S.convs.get(S.selected); if (c) markRead(c); });

  // The task form and the timeline are built once per selected conversation (the timeline loads
  // itself), not on every message that re-renders the panel.
  var panelExtras = {id: null, nodes: []};
  function renderCustomer(c) {
    var panel = $("customer"), cid = c.customer.id;
    if (panelExtras.id !== c.id) {
      panelExtras = {id: c.id, nodes: [window.ccTasks.form(cid), window.ccTimeline(cid, c.id)]};
    }
    var extras = panelExtras.nodes;
    var draw = function (cu) {
      if (S.selected !== c.id) return;
      panel.textContent = "";
      panel.appendChild(h("h2", {text: cu.name}));
      panel.appendChild(h("div", {cls: "muted small", text: "Customer since " + new Date(cu.created_at).toLocaleDateString()}));
      panel.appendChild(h("h3", {text: "Contact"}));
      panel.appendChild(h("ul", {cls: "ids"}, cu.identities.map(function (i) {
        return h("li", {}, [h("span", {cls: "muted", text: i.kind}), " ", h("span", {text: i.address})]);
      })));
      if (cu.company || (cu.tags && cu.tags.length)) {
        panel.appendChild(h("div", {cls: "tags"}, [cu.company ? h("span", {cls: "company", text: cu.company}) : null]
          .concat((cu.tags || []).map(function (t) { return h("span", {cls: "tag", text: t}); }))));
      }
      if (cu.workflow && cu.workflow.length) {
        panel.appendChild(h("h3", {text: "Open work"}));
        panel.appendChild(h("ul", {cls: "workflow"}, cu.workflow.map(function (w) {
          var label = {"case": "Case #", lead: "Lead #", opportunity: "Opportunity #"}[w.kind] + w.id;
          var sla = null;
          if (w.due) {  // the nearest SLA deadline of a case, counted down by tick()
            sla = h("span", {cls: "sla", "data-due": w.due});
          }
          return h("li", {}, [h("div", {}, [h("b", {text: label}), " ", h("span", {text: w.title})]),
                              h("div", {cls: "muted small"}, [w.status + (w.detail ? " \u00b7 " + w.detail : ""), sla ? " \u00b7 " : null, sla])]);
        })));
        tick();
      }
      extras.forEach(function (node) { panel.appendChild(node); });
    };
    if (S.customers[cid]) draw(S.customers[cid]);
    api("GET", "/api/customers/" + cid).then(function (r) { if (r.ok) { S.customers[cid] = r.data; draw(r.data); } });
  }

  function renderWrapup(c) {
    var sel = $("disposition");
    if (sel.getAttribute("data-for") !== String(c.id)) {
      sel.setAttribute("data-for", c.id);
      sel.textContent = "";
      sel.appendChild(h("option", {value: "", text: "Choose\u2026"}));
      c.dispositions.forEach(function (d) { sel.appendChild(h("option", {value: d.code, text: d.label})); });
      $("wrapup-notes").value = "";
      $("wrapup").querySelector(".form-error").textContent = "";
    }
    tick();
  }
  $("wrapup").addEventListener("submit", function (e) {
    e.preventDefault();
    var c = S.convs.get(S.selected), err = $("wrapup").querySelector(".form-error");
    if (!c) return;
    api("POST", "/api/interactions/" + c.id + "/wrapup",
        {disposition: $("disposition").value, notes: $("wrapup-notes").value}).then(function (r) {
      if (!r.ok) { err.textContent = failed(r); return; }
      c.disposition = $("disposition").value;
      dropConv(c.id); renderAll();
      toast("Wrap-up saved.");
    });
  });

  // ---- composer -------------------------------------------------------------------------------------
  // Each conversation has its own composer mode: Reply unless the agent chose a note for it, or
  // it can take no reply and the agent has not typed one. No mode carries over to the next.
  function canReply(c) { return c.state === "assigned" && c.channel !== "voicemail"; }
  function modeOf(c) {
    return S.modes[c.id] || (canReply(c) ? "reply" : "note");
  }
  function showMode(mode) {
    $("composer").querySelectorAll(".tab").forEach(function (t) {
      var on = t.getAttribute("data-mode") === mode;
      t.classList.toggle("active", on); t.setAttribute("aria-selected", String(on));
    });
    $("composer").classList.toggle("noting", mode === "note");
    $("send-btn").textContent = mode === "note" ? "Add note" : "Send reply";
    $("reply").placeholder = mode === "note" ? "Write an internal note\u2026" : "Type a reply\u2026 (/ for canned responses)";
  }
  $("composer").querySelectorAll(".tab").forEach(function (t) {
    t.addEventListener("click", function () {
      var c = S.convs.get(S.selected);
      if (c) S.modes[c.id] = t.getAttribute("data-mode");
      renderConversation(); $("reply").focus();
    });
  });
  var cannedIndex = 0;
  function cannedMatches() {
    var v = $("reply").value;
    if (v[0] !== "/" || /\s/.test(v)) return [];
    var q = v.slice(1).toLowerCase();
    return S.canned.filter(function (c) { return c.shortcut.indexOf(q) === 0 || c.title.toLowerCase().indexOf(q) >= 0; });
  }
  function renderCanned() {
    var box = $("canned"), matches = cannedMatches();
    box.textContent = "";
    box.hidden = matches.length === 0;
    cannedIndex = Math.min(cannedIndex, Math.max(0, matches.length - 1));
    matches.forEach(function (c, i) {
      box.appendChild(h("div", {cls: "canned-item" + (i === cannedIndex ? " active" : ""), role: "option",
                                onmousedown: function (e) { e.preventDefault(); useCanned(c); }}, [
        h("b", {text: "/" + c.shortcut}), " ", h("span", {text: c.title}),
        h("div", {cls: "muted small ellipsis", text: c.text}),
      ]));
    });
  }
  function useCanned(c) {
    var conv = S.convs.get(S.selected);
    $("reply").value = c.text.replace(/\{customer\}/g, first(conv ? conv.customer.name : ""))
                             .replace(/\{agent\}/g, first(S.me.display_name));
    $("canned").hidden = true;
    $("reply").focus();
  }
  var lastTyping = 0;
  $("reply").addEventListener("input", function () {
    cannedIndex = 0; renderCanned();
    var c = S.convs.get(S.selected);
    if (c && modeOf(c) === "reply" && c.state === "assigned" && c.channel === "chat" && Date.now() - lastTyping > 3000) {
      lastTyping = Date.now();
      api("POST", "/api/interactions/" + c.id + "/typing");
    }
  });
  $("reply").addEventListener("keydown", function (e) {
    var matches = cannedMatches();
    if (matches.length && !$("canned").hidden) {
      if (e.key === "ArrowDown") { e.preventDefault(); cannedIndex = (cannedIndex + 1) % matches.length; renderCanned(); return; }
      if (e.key === "ArrowUp") { e.preventDefault(); cannedIndex = (cannedIndex + matches.length - 1) % matches.length; renderCanned(); return; }
      if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); useCanned(matches[cannedIndex]); return; }
      if (e.key === "Escape") { $("canned").hidden = true; return; }
    }
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  $("composer").addEventListener("submit", function (e) {
    e.preventDefault();
    var c = S.convs.get(S.selected), body = $("reply").value.trim();
    var files = c && canAttach(c) ? S.files[c.id] || [] : [];
    if (!c || (!body && !files.length)) return;
    if (files.some(function (f) { return !f.id; })) { toast("Wait until the files have uploaded.", "bad"); return; }
    var internal = modeOf(c) === "note";
    if (!internal && !canReply(c)) { toast("This conversation takes no more replies.", "bad"); return; }
    var pending = {client_id: newId(), body: body, direction: internal ? "internal" : "outbound",
                   status: "pending", author: S.me.display_name, created_at: new Date().toISOString(),
                   attachments: files.map(function (f) { return {filename: f.name, content_type: ""}; })};
    upsertMessage(c, pending); renderMessages();
    $("reply").value = "";
    api("POST", "/api/interactions/" + c.id + "/messages", {body: body, internal: internal, client_id: pending.client_id,
                                                           attachments: files.map(function (f) { return f.id; })})
      .then(function (r) {
        if (r.ok) { upsertMessage(c, r.data); S.files[c.id] = []; renderFiles(); }
        else {
          c.messages = c.messages.filter(function (m) { return m.client_id !== pending.client_id; });
          $("reply").value = body; toast(failed(r), "bad");
        }
        renderMessages(); renderConvList();
      }, function () {
        c.messages = c.messages.filter(function (m) { return m.client_id !== pending.client_id; });
        $("reply").value = body; toast("Not sent: cannot reach the server.", "bad"); renderMessages();
      });
  });

  // ---- transfer and end -----------------------------------------------------------------------------
  $("transfer-btn").addEventListener("click", function () {
    var q = $("t-queue"), a = $("t-agent");
    q.length = 1; a.length = 1;
    S.queues.forEach(function (x) { q.appendChild(h("option", {value: x.name, text: x.label})); });
    S.agents.forEach(function (x) { a.appendChild(h("option", {value: x.id, text: x.name + " (" + x.presence + ")"})); });
    $("transfer-form").querySelector(".form-error").textContent = "";
    $("transfer-dialog").showModal();
  });
  $("t-cancel").addEventListener("click", function () { $("transfer-dialog").close(); });
  $("transfer-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var c = S.convs.get(S.selected), err = $("transfer-form").querySelector(".form-error");
    var queue = $("t-queue").value, agent = $("t-agent").value;
    if (!c) return;
    if (!queue === !agent) { err.textContent = "Choose a queue or an agent (one of them)."; return; }
    api("POST", "/api/interactions/" + c.id + "/transfer", queue ? {queue: queue} : {agent: Number(agent)}).then(function (r) {
      if (!r.ok) { err.textContent = failed(r); return; }
      $("transfer-dialog").close(); dropConv(c.id); renderAll(); toast("Transferred.");
    });
  });
  // Ending is asked first: one stray click would close the customer's conversation.
  $("end-btn").addEventListener("click", function () {
    var c = S.convs.get(S.selected);
    if (!c) return;
    $("end-question").textContent = "End the conversation with " + c.customer.name + "?" +
      (c.channel === "chat" ? " They will see that the chat has ended." : "");
    $("end-dialog").showModal();
  });
  $("end-cancel").addEventListener("click", function () { $("end-dialog").close(); });
  $("end-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var c = S.convs.get(S.selected);
    $("end-dialog").close();
    if (!c) return;
    api("POST", "/api/interactions/" + c.id + "/complete").then(function (r) { if (!r.ok) toast(failed(r), "bad"); });
  });

  // ---- keyboard and clock ---------------------------------------------------------------------------
  document.addEventListener("keydown", function (e) {
    if (!loggedIn || $("transfer-dialog").open || $("end-dialog").open) return;
    if (e.altKey && /^[1-9]$/.test(e.key)) {
      var ids = Array.from(S.convs.keys()), id = ids[Number(e.key) - 1];
      if (id) { e.preventDefault(); select(id); }
      return;
    }
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    var offer = S.offers.values().next().value;
    if (!offer) return;
    var card = document.querySelector('.offer[data-id="' + offer.id + '"]');
    if (e.key === "a" || e.key === "A") { e.preventDefault(); answer(offer.id, "accept", card); }
    if (e.key === "r" || e.key === "R") { e.preventDefault(); answer(offer.id, "reject", card); }
  });
  function tick() {
    document.querySelectorAll(".countdown").forEach(function (el) {
      var left = until(el.getAttribute("data-deadline")), total = Number(el.getAttribute("data-total"));
      el.querySelector(".left").textContent = left > 0 ? "Answer within " + clock(left) : "Expiring\u2026";
      el.querySelector(".bar").style.width = Math.max(0, Math.min(100, 100 * left / total)) + "%";
      el.classList.toggle("urgent", left < 6);
    });
    document.querySelectorAll(".waited").forEach(function (el) { el.textContent = clock(since(el.getAttribute("data-since"))); });
    document.querySelectorAll(".sla").forEach(function (el) {
      var left = until(el.getAttribute("data-due"));
      el.textContent = "SLA " + window.ccDom.due(el.getAttribute("data-due"));
      el.classList.toggle("breached", left <= 0);
      el.classList.toggle("soon", left > 0 && left < 1800);
    });
    var c = S.convs.get(S.selected);
    $("wrapup-left").textContent = c && c.state === "wrapup" && c.wrapup_deadline ?
      "\u00b7 ends in " + clock(until(c.wrapup_deadline)) : "";
    renderTyping();
    window.ccTasks.tick();
  }
  setInterval(tick, 1000);

  // ---- start ------------------------------------------------------------------------------------------
  window.ccLogin.mount("Agent console", "Sign in to take conversations.", start, stop);
})();
