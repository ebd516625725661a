// The customer directory: search by name, phone as written, email, tag or company (the search
// is the server's, paged by id), each row opening the customer's record. The query is kept in
// the address, so a search can be bookmarked and the back button returns to it.
(function () {
  "use strict";
  var h = window.ccDom.h, api = window.ccApi.call, toast = window.ccDom.toast, failed = window.ccApi.failed;
  function $(id) { return document.getElementById(id); }
  var after = null, form = $("search");

  function query() {
    var params = new URLSearchParams();
    ["q", "tag", "company"].forEach(function (k) { if (form[k].value.trim()) params.set(k, form[k].value.trim()); });
    return params;
  }
  function row(c) {
    var open = function () { location.href = "/customers/" + c.id; };
    return h("tr", {tabindex: "0", "data-id": c.id, onclick: open,
                    onkeydown: function (e) { if (e.key === "Enter") open(); }}, [
      h("td", {}, [h("a", {href: "/customers/" + c.id, text: c.name})]),
      h("td", {text: c.identities.map(function (i) { return i.address; }).join(", ")}),
      h("td", {text: c.company || ""}),
      h("td", {}, c.tags.map(function (t) { return h("span", {cls: "tag", text: t}); })),
    ]);
  }
  function load(more) {
    var params = query();
    if (more && after) params.set("after", after);
    api("GET", "/api/customers?" + params.toString()).then(function (r) {
      if (!r.ok) { toast(failed(r), "bad"); return; }
      if (!more) $("rows").textContent = "";
      r.data.customers.forEach(function (c) { $("rows").appendChild(row(c)); });
      after = r.data.next_after;
      $("more").hidden = !after;
      $("none").hidden = $("rows").children.length > 0;
    });
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    history.replaceState(null, "", "/customers" + (query().toString() ? "?" + query().toString() : ""));
    load(false);
  });
  $("more").addEventListener("click", function () { load(true); });
  var start = new URLSearchParams(location.search);
  ["q", "tag", "company"].forEach(function (k) { form[k].value = start.get(k) || ""; });
  window.ccLogin.mount("Customers", "Sign in to find customers.", function (data) {
    $("me-name").textContent = data.user.display_name;
    load(false);
  }, function () {});
})();
