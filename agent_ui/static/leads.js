// Leads: filtered by status on the server; each qualified or disqualified with a reason, or
// converted into an opportunity (amount, close date, stage), which then stands on the pipeline.
(function () {
  "use strict";
  var h = window.ccDom.h, api = window.ccApi.call, toast = window.ccDom.toast, failed = window.ccApi.failed;
  function $(id) { return document.getElementById(id); }
  var after = null, converting = null, form = $("filters");
  var CHANNEL = {chat: "Chat", sms: "SMS", email: "Email", voice: "Call", voicemail: "Voicemail"};

  function setStatus(lead, status) {
    var reason = prompt((status === "qualified" ? "Qualify" : "Disqualify") + " \u201c" + lead.title + "\u201d: why?", "");
    if (reason === null) return;
    api("PATCH", "/api/leads/" + lead.id, {status: status, reason: reason}).then(function (r) {
      if (!r.ok) { toast(failed(r), "bad"); return; }
      toast("Lead " + status + "."); load(false);
    });
  }
  function row(l) {
    var open = l.status === "new" || l.status === "qualified";
    var actions = open ? [
      l.status === "new" ? h("button", {cls: "btn ghost small", type: "button", text: "Qualify", onclick: function () { setStatus(l, "qualified"); }}) : null,
      h("button", {cls: "btn ghost small", type: "button", text: "Disqualify", onclick: function () { setStatus(l, "disqualified"); }}),
      h("button", {cls: "btn primary small", type: "button", text: "Convert", "aria-label": "Convert " + l.title,
                   onclick: function () { convert(l); }}),
    ] : l.status === "converted" ? [h("a", {href: "/pipeline", text: "On the pipeline"})] : [];
    return h("tr", {"data-id": l.id}, [
      h("td", {text: "#" + l.id + " " + l.title}),
      h("td", {}, [h("a", {href: "/customers/" + l.customer_id, text: l.customer})]),
      h("td", {text: l.status + (l.reason ? " \u00b7 " + l.reason : "")}),
      h("td", {text: CHANNEL[l.source_channel] || l.source_channel || ""}),
      h("td", {cls: "row"}, actions),
    ]);
  }
  function convert(lead) {
    converting = lead;
    var f = $("convert-form");
    f.name.value = lead.title; f.amount.value = ""; f.expected_close.value = "";
    f.querySelector(".form-error").textContent = "";
    $("convert-dialog").showModal();
    f.amount.focus();
  }
  $("convert-cancel").addEventListener("click", function () { $("convert-dialog").close(); });
  $("convert-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target, err = f.querySelector(".form-error");
    var body = {name: f.name.value, amount: f.amount.value, stage: f.stage.value || null};
    if (f.expected_close.value) body.expected_close = f.expected_close.value;
    api("POST", "/api/leads/" + converting.id + "/convert", body).then(function (r) {
      if (!r.ok) { err.textContent = failed(r); return; }
      $("convert-dialog").close();
      toast("Converted: \u201c" + r.data.name + "\u201d is on the pipeline.");
      load(false);
    });
  });
  function load(more) {
    var params = new URLSearchParams();
    if (form.status.value) params.set("status", form.status.value);
    if (more && after) params.set("after", after);
    api("GET", "/api/leads?" + params.toString()).then(function (r) {
      if (!r.ok) { toast(failed(r), "bad"); return; }
      if (!more) $("rows").textContent = "";
      r.data.leads.forEach(function (l) { $("rows").appendChild(row(l)); });
      after = r.data.next_after;
      $("more").hidden = !after;
      $("none").hidden = $("rows").children.length > 0;
    });
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); load(false); });
  $("more").addEventListener("click", function () { load(true); });
  window.ccLogin.mount("Leads", "Sign in to work leads.", function (data) {
    $("me-name").textContent = data.user.display_name;
    api("GET", "/api/openapi.json").then(function (r) {
      var stages = (r.ok && r.data.components.schemas.StageName || {}).enum || [];
      var pick = $("convert-form").stage;
      stages.forEach(function (s) { pick.appendChild(h("option", {value: s, text: s})); });
      load(false);
    });
  }, function () {});
})();
