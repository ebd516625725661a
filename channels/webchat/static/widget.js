/* Web chat widget. A site embeds:
 *   <script src="https://support.example.com/chat/widget.js" data-workspace="default" async></script>
 * and gets a launcher button. Everything lives in a shadow root, so the site's CSS and ours
 * never touch. Nothing is lost across reloads or dropped networks: messages not yet
 * acknowledged wait in localStorage and are sent again with the same client id (the server
 * stores each id once), and the socket resumes from the last event id it saw.
 * The protocol is described in docs/live-protocol.md.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src, location.href);
  var workspace = script.getAttribute("data-workspace") || "default";
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/chat/ws";
  var storeKey = "cc-chat:" + base.host + ":" + workspace;

  // ---- persistent state ------------------------------------------------------------------
  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  var saved = load();
  var state = {
    token: saved.token || null,
    // Only for this page's lifetime: a new page has nothing to apply missed events to, so it
    // starts from a snapshot; a reconnect of this page resumes from here.
    lastEventId: null,
    outbox: saved.outbox || [],          // [{client_id, body}] not yet acknowledged
    open: !!saved.open,
    name: saved.name || "",
  };
  function persist() {
    try {
      localStorage.setItem(storeKey, JSON.stringify({
        token: state.token, outbox: state.outbox,
        open: state.open, name: state.name,
      }));
    } catch (e) { /* private mode: the chat still works, it just won't survive a reload */ }
  }

  // ---- conversation model ----------------------------------------------------------------
  var messages = [];            // shown messages, in order: {id, client_id, direction, body, author, status}
  var conversation = null;      // {interaction_id, state: waiting|active|closed, agent}
  var topics = [];
  var queueInfo = null;
  var typingUntil = 0, typingName = "";
  var socket = null, connected = false, ready = false, retry = 0, lastHeard = 0;
  var needProfile = !state.token;
  var pendingFirst = "";        // the pre-chat form's message, sent once the conversation exists

  function findMessage(m) {
    for (var i = 0; i < messages.length; i++) {
      var x = messages[i];
      if ((m.id && x.id === m.id) || (m.client_id && x.client_id === m.client_id &&
          x.direction === m.direction)) return i;
    }
    return -1;
  }
  function upsert(m) {
    var i = findMessage(m);
    if (i >= 0) {
      // Keep the better status: a read mark that arrived first is not undone by a late echo.
      var order = {pending: 0, queued: 1, sent: 2, received: 2, delivered: 3, read: 4};
      var keep = (order[messages[i].status] || 0) > (order[m.status] || 0) ? messages[i].status : m.status;
      messages[i] = Object.assign({}, messages[i], m, {status: keep});
    } else {
      messages.push(m);
    }
  }

  // ---- DOM ---------------------------------------------------------------------------------
  var host = document.createElement("div");
  host.id = "cc-chat-widget";
  var root = host.attachShadow({mode: "open"});
  root.innerHTML = '<link rel="stylesheet" href="' + new URL("/chat/widget.css", base).href + '">' +
    '<button class="launcher" part="launcher" aria-label="Chat with us" aria-expanded="false">' +
    '<svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>' +
    '<span class="badge" hidden></span></button>' +
    '<section class="panel" role="dialog" aria-label="Chat" hidden>' +
    '  <header><div><strong>Chat with us</strong><div class="sub" aria-live="polite"></div></div>' +
    '    <div class="actions"><button class="end" type="button" hidden>End chat</button>' +
    '    <button class="close" type="button" aria-label="Minimise chat">&#x2715;</button></div></header>' +
    '  <div class="conn" hidden>Reconnecting&#8230;</div>' +
    '  <form class="verify" hidden><p>To link this chat with your earlier conversations, enter the code we emailed to <b class="to"></b>.</p>' +
    '    <div class="row"><input name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="12" aria-label="Code from the email" placeholder="6-digit code">' +
    '    <button type="submit" class="primary">Verify</button></div>' +
    '    <div class="form-error" role="alert"></div>' +
    '    <button type="button" class="link resend">Send a new code</button> <button type="button" class="link skip">Not now</button></form>' +
    '  <form class="profile" hidden>' +
    '    <p>Hi! Tell us who you are and we will connect you with the right person.</p>' +
    '    <label>Your name<input name="name" required maxlength="100" autocomplete="name"></label>' +
    '    <label>Email <span class="opt">(optional)</span><input name="email" type="email" maxlength="320" autocomplete="email"></label>' +
    '    <label class="topic-row">Topic<select name="topic"></select></label>' +
    '    <label>How can we help?<textarea name="first" rows="3" required maxlength="4000"></textarea></label>' +
    '    <div class="form-error" role="alert"></div>' +
    '    <button type="submit" class="primary">Start chat</button>' +
    '  </form>' +
    '  <ol class="log" aria-live="polite"></ol>' +
    '  <div class="typing" aria-live="polite"></div>' +
    '  <div class="ended" hidden>This conversation has ended. <button type="button" class="again">Start a new conversation</button></div>' +
    '  <form class="compose" hidden><textarea rows="1" placeholder="Type a message&#8230;" aria-label="Message" maxlength="4000"></textarea>' +
    '    <button type="submit" class="primary" aria-label="Send">Send</button></form>' +
    '  <div class="error" role="alert" hidden></div>' +
    '</section>';
  function $(sel) { return root.querySelector(sel); }
  var launcher = $(".launcher"), panel = $(".panel"), log = $(".log"), sub = $(".sub");
  var profile = $(".profile"), compose = $(".compose"), input = $(".compose textarea");
  var typingEl = $(".typing"), endedEl = $(".ended"), errorEl = $(".error"), connEl = $(".conn");
  var endBtn = $(".end"), verify = $(".verify"), verifyError = $(".verify .form-error");
  var verifyingEmail = null;      // the address a code was mailed to, while it is not proven

  function fmtWait(seconds) {
    if (seconds < 60) return "less than a minute";
    var m = Math.round(seconds / 60);
    return "about " + m + " minute" + (m === 1 ? "" : "s");
  }

  function render() {
    panel.hidden = !state.open;
    launcher.setAttribute("aria-expanded", String(state.open));
    connEl.hidden = connected || !state.open || needProfile && !state.token;
    profile.hidden = !needProfile;
    verify.hidden = !verifyingEmail || needProfile;
    if (verifyingEmail) verify.querySelector(".to").textContent = verifyingEmail;
    var st = conversation ? conversation.state : null;
    var closed = st === "closed";
    compose.hidden = needProfile || closed;
    endedEl.hidden = !closed;
    endBtn.hidden = !(st === "waiting" || st === "active");
    if (st === "waiting" && queueInfo) {
      sub.textContent = "You are number " + queueInfo.position + " in line \u00b7 estimated wait " +
        fmtWait(queueInfo.estimated_wait_seconds);
    } else if (st === "waiting") {
      sub.textContent = "Waiting for the next available agent";
    } else if (st === "active") {
      sub.textContent = conversation.agent ? "You are chatting with " + conversation.agent : "Connected";
    } else if (closed) {
      sub.textContent = "Conversation ended";
    } else {
      sub.textContent = "We usually answer in a few minutes";
    }
    var all = messages.concat(state.outbox.filter(function (p) {
      return findMessage({client_id: p.client_id, direction: "inbound"}) < 0;
    }).map(function (p) {
      return {client_id: p.client_id, direction: "inbound", body: p.body, status: "pending", author: ""};
    }));
    log.textContent = "";
    var lastIx = null;
    all.forEach(function (m) {
      if (m.interaction_id && lastIx && m.interaction_id !== lastIx) {
        var sep = document.createElement("li");
        sep.className = "divider";
        sep.textContent = "New conversation";
        log.appendChild(sep);
      }
      if (m.interaction_id) lastIx = m.interaction_id;
      var li = document.createElement("li");
      li.className = "msg " + (m.direction === "inbound" ? "mine" : "theirs");
      if (m.id) li.setAttribute("data-id", m.id);
      if (m.direction !== "inbound" && m.author) {
        var who = document.createElement("span");
        who.className = "author";
        who.textContent = m.author;
        li.appendChild(who);
      }
      var body = document.createElement("div");
      body.className = "body";
      body.textContent = m.body;   // text, never HTML: whatever anyone typed stays text
      li.appendChild(body);
      if (m.direction === "inbound") {
        var mark = document.createElement("span");
        mark.className = "mark " + m.status;
        mark.textContent = m.status === "pending" ? "Sending\u2026" : m.status === "read" ? "\u2713\u2713 Read" : "\u2713 Sent";
        li.appendChild(mark);
      }
      log.appendChild(li);
    });
    typingEl.textContent = Date.now() < typingUntil ? (typingName || "The agent") + " is typing\u2026" : "";
    log.scrollTop = log.scrollHeight;
    markRead();
  }

  // ---- socket --------------------------------------------------------------------------------
  function send(frame) {
    if (socket && socket.readyState === 1) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function connect() {
    if (socket) return;
    socket = new WebSocket(wsUrl);
    socket.onopen = function () {
      lastHeard = Date.now();
      send({type: "hello", workspace: workspace, token: state.token,
            last_event_id: state.token ? state.lastEventId : null});
      render();
    };
    socket.onmessage = function (e) {
      lastHeard = Date.now();
      var f; try { f = JSON.parse(e.data); } catch (err) { return; }
      handle(f);
    };
    socket.onclose = function () {
      socket = null; connected = false; ready = false;
      render();
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, Math.min(5000, 500 * Math.pow(2, retry - 1)) * (0.8 + Math.random() * 0.4));
    };
  }
  function flushOutbox() {
    if (!ready) return;
    state.outbox.forEach(function (p) { send({type: "message", client_id: p.client_id, body: p.body}); });
  }
  function applyEvent(ev) {
    if (ev.kind === "message") {
      upsert(ev.message);
      if (ev.message.direction === "inbound") dropFromOutbox(ev.message.client_id);
      else typingUntil = 0;
      ensureConversation(ev.message.interaction_id, "waiting");
      if (!state.open && ev.message.direction === "outbound") $(".badge").hidden = false;
    } else if (ev.kind === "agent_joined") {
      conversation = {interaction_id: ev.interaction_id, state: "active", agent: ev.agent};
      queueInfo = null;
    } else if (ev.kind === "waiting") {
      ensureConversation(ev.interaction_id, "waiting");
      conversation.state = "waiting";
    } else if (ev.kind === "closed") {
      if (conversation && conversation.interaction_id === ev.interaction_id) conversation.state = "closed";
      typingUntil = 0;
    } else if (ev.kind === "typing") {
      if (Date.now() / 1000 - ev.at < 6) { typingUntil = Date.now() + 5000; typingName = ev.name; }
      setTimeout(render, 5100);
    } else if (ev.kind === "receipt") {
      messages.forEach(function (m) {
        if (m.direction === "inbound" && m.id && m.id <= ev.up_to) m.status = ev.status;
      });
    }
  }
  function ensureConversation(iid, st) {
    if (!conversation || conversation.interaction_id !== iid) {
      conversation = {interaction_id: iid, state: st, agent: null};
    }
  }
  function dropFromOutbox(clientId) {
    state.outbox = state.outbox.filter(function (p) { return p.client_id !== clientId; });
    persist();
  }
  function handle(f) {
    if (f.type === "profile_needed") {
      state.token = null; needProfile = true; topics = f.topics || [];
      var select = profile.querySelector("select");
      select.textContent = "";
      topics.forEach(function (t) {
        var o = document.createElement("option"); o.value = t; o.textContent = t; select.appendChild(o);
      });
      profile.querySelector(".topic-row").hidden = topics.length === 0;
      persist();
    } else if (f.type === "started") {
      state.token = f.token; state.name = f.name; needProfile = false; state.lastEventId = null;
      verifyingEmail = f.verify_email || null;
      persist();
    } else if (f.type === "email_verified") {
      verifyingEmail = null; verifyError.textContent = "";
    } else if (f.type === "code_sent") {
      verifyError.textContent = "We sent a new code.";
    } else if (f.type === "welcome") {
      state.name = f.name; needProfile = false;
    } else if (f.type === "snapshot") {
      connected = true; retry = 0;  // live only once the feed answers
      var c = f.state.conversation;
      messages = [];
      conversation = c ? {interaction_id: c.interaction_id, state: c.state, agent: c.agent} : null;
      if (c) c.messages.forEach(function (m) { upsert(m); dropFromOutbox(m.client_id); });
      state.lastEventId = f.last_event_id; persist();
      ready = true; flushOutbox();
      if (pendingFirst) { var first = pendingFirst; pendingFirst = ""; queueMessage(first); }
    } else if (f.type === "resumed") {
      connected = true; retry = 0;
      ready = true; flushOutbox();
    } else if (f.type === "event") {
      applyEvent(f.event);
      state.lastEventId = f.id; persist();
    } else if (f.type === "ack") {
      upsert(Object.assign({}, f.message, {status: f.message.status === "read" ? "read" : "sent"}));
      dropFromOutbox(f.client_id);
      ensureConversation(f.message.interaction_id, "waiting");
      if (conversation.state === "closed") conversation.state = "waiting";
    } else if (f.type === "queue") {
      queueInfo = f;
      ensureConversation(f.interaction_id, "waiting");
    } else if (f.type === "error") {
      if (f.client_id && f.error !== "rate_limited") dropFromOutbox(f.client_id);
      if (f.error === "rate_limited") setTimeout(flushOutbox, 1500);
      if (verifyingEmail && /code|verify|tries/.test(f.error)) verifyError.textContent = f.message;
      else showError(f.message);
      if (needProfile) profile.querySelector(".form-error").textContent = f.message;
    }
    render();
  }
  function showError(text) {
    errorEl.textContent = text; errorEl.hidden = false;
    clearTimeout(showError.t);
    showError.t = setTimeout(function () { errorEl.hidden = true; }, 5000);
  }

  // ---- reading, typing, sending ----------------------------------------------------------
  var readUpTo = 0;
  function markRead() {
    if (!state.open || document.visibilityState !== "visible" || !ready) return;
    var max = 0;
    messages.forEach(function (m) { if (m.direction === "outbound" && m.id > max) max = m.id; });
    if (max > readUpTo && send({type: "read", up_to: max})) readUpTo = max;
  }
  function newId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
  }
  function queueMessage(body) {
    body = body.trim();
    if (!body) return;
    var p = {client_id: newId(), body: body};
    state.outbox.push(p); persist();
    if (ready) send({type: "message", client_id: p.client_id, body: p.body});
    render();
  }
  var lastTyping = 0;
  input.addEventListener("input", function () {
    if (Date.now() - lastTyping > 2500 && conversation && conversation.state !== "closed") {
      lastTyping = Date.now(); send({type: "typing"});
    }
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); compose.requestSubmit(); }
  });
  compose.addEventListener("submit", function (e) {
    e.preventDefault(); queueMessage(input.value); input.value = ""; input.focus();
  });
  profile.addEventListener("submit", function (e) {
    e.preventDefault();
    var data = new FormData(profile);
    profile.querySelector(".form-error").textContent = "";
    pendingFirst = String(data.get("first") || "");
    var sent = send({type: "start", name: String(data.get("name") || ""),
                     email: String(data.get("email") || ""), topic: String(data.get("topic") || "")});
    if (!sent) profile.querySelector(".form-error").textContent = "Connecting… please try again in a moment.";
  });
  verify.addEventListener("submit", function (e) {
    e.preventDefault();
    var code = verify.querySelector("input").value.trim();
    if (code) send({type: "verify_email", code: code});
  });
  $(".verify .resend").addEventListener("click", function () { send({type: "send_code"}); });
  $(".verify .skip").addEventListener("click", function () { verifyingEmail = null; render(); });
  $(".again").addEventListener("click", function () {
    conversation.state = "new"; queueInfo = null; render(); input.focus();
  });
  endBtn.addEventListener("click", function () {
    if (confirm("End this chat?")) send({type: "leave"});
  });
  function setOpen(open) {
    state.open = open; persist();
    if (open) { $(".badge").hidden = true; connect(); }
    render();
    if (open) (needProfile ? profile.querySelector("input") : input).focus();
  }
  launcher.addEventListener("click", function () { setOpen(!state.open); });
  $(".close").addEventListener("click", function () { setOpen(false); launcher.focus(); });
  root.addEventListener("keydown", function (e) { if (e.key === "Escape" && state.open) setOpen(false); });
  document.addEventListener("visibilitychange", markRead);

  // Keep-alive both ways: a ping every 25 s, and a socket that has said nothing for 65 s
  // (the server sends a heartbeat every 20 s) is presumed dead and replaced.
  setInterval(function () {
    if (!socket) return;
    if (Date.now() - lastHeard > 65000) { socket.close(); return; }
    send({type: "ping"});
  }, 25000);
  window.addEventListener("online", function () { if (socket) socket.close(); else connect(); });

  (document.body || document.documentElement).appendChild(host);
  if (state.open || state.token || state.outbox.length) connect();
  render();
})();
