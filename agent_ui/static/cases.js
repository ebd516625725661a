// The case list: filtered on the server (status, priority, owner, breached), the nearest SLA
// deadline of each as people read it, soonest first on the page; each row opens the case.
(function () {
  "use strict";
  var h = window.ccDom.h, api = window.ccApi.call, toast = window.ccDom.toast, failed = window.ccApi.failed;
  function $(id) { return document.getElementById(id); }
  var me = null, after = null, shown = [], form = $("filters");

  function nextDue(c) {
    var dues = c.sla.filter(function (t) { return t.due && t.state === "running"; })
                    .map(function (t) { return t.due; }).sort();
    return dues[0] || null;
  }
  function row(c) {
    var open = function () { location.href = "/cases/" + c.id; }, due = nextDue(c);
    return h("tr", {tabindex: "0", "data-id": c.id, onclick: open, onkeydown: function (e) { if (e.key === "Enter") open(); }}, [
      h("td", {}, [h("a", {href: "/cases/" + c.id, text: "#" + c.id + " " + c.subject})]),
      h("td", {text: c.status}), h("td", {text: c.priority}), h("td", {text: c.team || ""}),
      h("td", {cls: c.breaches.length ? "breached" : "", text: due ? window.ccDom.due(due) : c.breaches.length ? "breached" : "\u2014"}),
    ]);
  }
  function draw() {
    $("rows").textContent = "";
    shown.slice().sort(function (a, b) { return (nextDue(a) || "~").localeCompare(nextDue(b) || "~"); })
      .forEach(function (c) { $("rows").appendChild(row(c)); });
    $("none").hidden = shown.length > 0;
    $("more").hidden = !after;
  }
  function load(more) {
    var params = new URLSearchParams();
    if (form.status.value) params.set("status", form.status.value); else params.set("closed", "false");
    if (form.priority.value) params.set("priority", form.priority.value);
    if (form.owner.value === "me" && me) params.set("owner_user_id", me.id);
    if (form.breached.value) params.set("breached", form.breached.value);
    if (more && after) params.set("after", after);
    api("GET", "/api/cases?" + params.toString()).then(function (r) {
      if (!r.ok) { toast(failed(r), "bad"); return; }
      shown = more ? shown.concat(r.data.cases) : r.data.cases;
      after = r.data.next_after;
      draw();
    });
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); load(false); });
  $("more").addEventListener("click", function () { load(true); });
  window.ccLogin.mount("Cases", "Sign in to work cases.", function (data) {
    me = data.user; $("me-name").textContent = me.display_name; load(false);
  }, function () {});
})();
