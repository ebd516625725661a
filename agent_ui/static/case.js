// One case: subject (public), status by the workflow's steps (pending pauses the resolution
// clock), priority, team, category and owner; its service-level timers as people read them;
// the conversations linked to it. Refusals are shown as the server words them.
(function () {
  "use strict";
  var h = window.ccDom.h, api = window.ccApi.call, toast = window.ccDom.toast, failed = window.ccApi.failed;
  function $(id) { return document.getElementById(id); }
  var id = Number(location.pathname.split("/").pop()), me = null, queues = [];
  var NEXT = {"new": ["open", "pending", "resolved", "closed"], open: ["pending", "resolved", "closed"],
              pending: ["open", "resolved", "closed"], resolved: ["open", "closed"], closed: []};
  var TARGET = {first_response: "First response", next_response: "Next response", resolution: "Resolution"};
  var CHANNEL = {chat: "Chat", sms: "SMS", email: "Email", voice: "Call", voicemail: "Voicemail"};

  function options(select, values, current) {
    select.textContent = "";
    values.forEach(function (v) { var o = h("option", {value: v, text: v}); if (v === current) o.selected = true; select.appendChild(o); });
  }
  function draw(c) {
    document.title = "Case #" + c.id + " \u00b7 Contact center";
    $("title").textContent = "Case #" + c.id + ": " + c.subject;
    $("meta").textContent = "";
    $("meta").append(c.status + " \u00b7 " + c.priority + " \u00b7 opened " + new Date(c.opened_at).toLocaleString() + " \u00b7 ",
                     h("a", {href: "/customers/" + c.customer_id, text: "the customer"}), " \u00b7 ",
                     h("a", {href: c.public_url, text: "what the customer sees", target: "_blank", rel: "noopener"}),
                     c.owner_user_id === (me && me.id) ? " \u00b7 yours" : c.owner_user_id ? "" : " \u00b7 no owner");
    var f = $("changes");
    f.subject.value = c.subject; f.category.value = c.category || "";
    options(f.status, [c.status].concat(NEXT[c.status] || []), c.status);
    f.priority.value = c.priority;
    options(f.team, queues, c.team);
    $("take").hidden = c.owner_user_id === (me && me.id);
    $("sla").textContent = "";
    c.sla.forEach(function (t) {
      var text = t.state === "running" ? window.ccDom.due(t.due) : t.state;
      $("sla").appendChild(h("li", {cls: t.state}, [h("span", {cls: "kind", text: TARGET[t.target] || t.target}), text]));
    });
    $("interactions").textContent = "";
    c.interactions.forEach(function (i) {
      $("interactions").appendChild(h("li", {}, [h("span", {cls: "kind", text: CHANNEL[i.channel] || i.channel}),
        new Date(i.created_at).toLocaleString(), h("span", {cls: "muted", text: " \u00b7 " + i.state})]));
    });
    if (!c.interactions.length) $("interactions").appendChild(h("li", {cls: "muted", text: "None linked."}));
  }
  function load() {
    api("GET", "/api/cases/" + id).then(function (r) {
      if (!r.ok) { $("title").textContent = failed(r); return; }
      draw(r.data);
    });
  }
  function change(body, said) {
    api("PATCH", "/api/cases/" + id, body).then(function (r) {
      if (!r.ok) { toast(failed(r), "bad"); return; }
      toast(said || "Saved."); draw(r.data);
    });
  }
  $("changes").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target;
    change({subject: f.subject.value, status: f.status.value, priority: f.priority.value,
            team: f.team.value, category: f.category.value});
  });
  $("take").addEventListener("click", function () { change({owner_user_id: me.id}, "The case is yours."); });
  window.ccLogin.mount("Case", "Sign in to work the case.", function (data) {
    me = data.user; $("me-name").textContent = me.display_name;
    api("GET", "/api/openapi.json").then(function (r) {
      queues = (r.ok && r.data.components.schemas.QueueName || {}).enum || [];
      load();
    });
  }, function () {});
})();
