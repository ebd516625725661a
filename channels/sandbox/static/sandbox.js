/* The sandbox page: plays the customer's phone. Everything the server answers is TwiML, shown
 * here as what a caller would hear; what the server asks "Twilio" to do comes from the outbox. */
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  function line(log, cls, text) {
    var li = document.createElement("li");
    li.className = cls; li.textContent = text;
    $(log).appendChild(li); $(log).scrollTop = $(log).scrollHeight;
  }
  function post(path, body) {
    return fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
      .then(function (r) { return r.json(); });
  }
  function parse(xml) {
    try { return new DOMParser().parseFromString(xml, "text/xml").documentElement; } catch (e) { return null; }
  }

  // ---- SMS ---------------------------------------------------------------------------------------
  $("sms-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = $("sms-body").value.trim();
    if (!body) return;
    line("sms-log", "me", body);
    $("sms-body").value = "";
    post("/sandbox/api/sms", {sender: $("sms-from").value, to: $("sms-to").value, body: body}).then(function (r) {
      if (r.status !== 200) { line("sms-log", "sys", "Server answered " + r.status + ": " + r.answer); return; }
      var root = parse(r.answer);
      if (root) Array.prototype.forEach.call(root.getElementsByTagName("Message"), function (m) {
        line("sms-log", "them", m.textContent);
      });
    });
  });
  $("sms-body").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("sms-form").requestSubmit(); }
  });

  // ---- calls -----------------------------------------------------------------------------------------
  var call = null, holdTimer = null, recordAction = null, gatherAction = null;
  "123456789*0#".split("").forEach(function (k) {
    var b = document.createElement("button");
    b.type = "button"; b.textContent = k; b.setAttribute("aria-label", "Press " + k);
    b.addEventListener("click", function () { step("choose", {digits: k, action: gatherAction}); });
    $("keys").appendChild(b);
  });
  function setStatus(text) { $("call-status").textContent = text; }
  function hear(answer) {
    var root = parse(answer);
    if (!root) return;
    var waiting = false;
    Array.prototype.forEach.call(root.getElementsByTagName("*"), function (el) {
      if (el.tagName === "Say") line("call-log", "them", "Heard: " + el.textContent);
      if (el.tagName === "Gather") {
        gatherAction = el.getAttribute("action");
        setStatus("Listening: press a key" + (el.getAttribute("input") === "dtmf" ? "." : " or say something."));
      }
      if (el.tagName === "Play" || el.tagName === "Pause") { line("call-log", "sys", "\u266a hold music"); waiting = true; }
      if (el.tagName === "Conference") { line("call-log", "sys", "Connected: you are in the conference with the agent."); setStatus("Talking to an agent."); }
      if (el.tagName === "Hangup") { line("call-log", "sys", "The line hangs up."); end(); }
      if (el.tagName === "Record") {
        recordAction = el.getAttribute("action");
        line("call-log", "sys", "Beep. Recording: type your message below and press Leave message.");
        $("record-form").hidden = false;
        setStatus("Leaving a voicemail.");
      }
    });
    clearTimeout(holdTimer);
    if (waiting) {
      setStatus("On hold (press 1 to be called back). The agent's console shows the call; accept it there.");
      $("hold").disabled = false;
      holdTimer = setTimeout(function () { step("hold", {}); }, 5000);  // as Twilio asks again after the music
    }
  }
  function step(kind, extra) {
    if (!call && kind !== "dial") return;
    var body = Object.assign({step: kind, call_sid: call ? call.sid : "", sender: $("call-from").value,
                              to: $("call-to").value}, extra);
    return post("/sandbox/api/call", body).then(function (r) {
      if (kind === "dial") { call = {sid: r.call_sid, started: Date.now()}; $("hangup").disabled = false; }
      if (r.status === 204) return;
      if (r.status !== 200) { line("call-log", "sys", "Server answered " + r.status + ": " + r.answer); return; }
      hear(r.answer);
    });
  }
  function end() {
    call = null; clearTimeout(holdTimer); $("record-form").hidden = true;
    $("hangup").disabled = true; $("hold").disabled = true; setStatus("Not in a call.");
  }
  $("dial").addEventListener("click", function () {
    if (call) return;
    $("call-log").textContent = "";
    line("call-log", "me", "Calling " + $("call-to").value + "\u2026");
    step("dial", {});
  });
  $("say-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var words = $("say").value.trim();
    if (!words) return;
    line("call-log", "me", "\u201c" + words + "\u201d");
    $("say").value = "";
    step("choose", {speech: words, action: gatherAction});
  });
  $("hold").addEventListener("click", function () { step("hold", {}); });
  $("record-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var words = $("record-text").value.trim();
    line("call-log", "me", "\u201c" + words + "\u201d (recorded)");
    $("record-form").hidden = true; $("record-text").value = "";
    step("record", {speech: words, action: recordAction,
                    duration: Math.max(1, Math.round(words.length / 12))});
  });
  $("hangup").addEventListener("click", function () {
    line("call-log", "me", "You hang up.");
    step("hangup", {duration: Math.round((Date.now() - call.started) / 1000)}).then(end);
  });

  // ---- what the server asked Twilio to do ----------------------------------------------------------------
  var seen = 0;
  setInterval(function () {
    fetch("/sandbox/api/outbox").then(function (r) { return r.json(); }).then(function (items) {
      items.slice(seen).forEach(function (item) {
        if (item.path === "Messages.json" && item.form.To === $("sms-from").value) {
          line("sms-log", "them", item.form.Body);
        } else if (item.path === "Calls.json") {
          line("call-log", "sys", "The agent's phone rings (" + item.form.To + ").");
        } else if (call && item.path === "Calls/" + call.sid + ".json") {
          hear(item.form.Twiml || "");
        }
      });
      seen = items.length;
    });
  }, 1500);
})();
