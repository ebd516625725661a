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

  // A customer by hand: the likely duplicates (by name, number or address) are named first, so
  // a second record of the same person is made only on purpose.
  var checked = false;
  $("new-customer").addEventListener("click", function () {
    var f = $("new-form");
    f.reset(); checked = false; $("likely").hidden = true; $("new-save").textContent = "Create";
    f.querySelector(".form-error").textContent = "";
    $("new-dialog").showModal();
  });
  $("new-cancel").addEventListener("click", function () { $("new-dialog").close(); });
  function likely(f) {
    var asks = [f.name.value, f.phone.value, f.email.value].filter(function (v) { return v.trim(); })
      .map(function (v) { return api("GET", "/api/customers?limit=5&q=" + encodeURIComponent(v.trim().slice(0, 200))); });
    return Promise.all(asks).then(function (answers) {
      var seen = {};
      answers.forEach(function (r) { if (r.ok) r.data.customers.forEach(function (c) { seen[c.id] = c; }); });
      return Object.keys(seen).map(function (k) { return seen[k]; });
    });
  }
  $("new-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target, err = f.querySelector(".form-error");
    err.textContent = "";
    var create = function () {
      api("POST", "/api/customers", {name: f.name.value, company: f.company.value,
                                     phone: f.phone.value || null, email: f.email.value || null}).then(function (r) {
        if (!r.ok) { err.textContent = failed(r); return; }
        location.href = "/customers/" + r.data.id;
      });
    };
    if (checked) { create(); return; }
    likely(f).then(function (found) {
      checked = true;
      if (!found.length) { create(); return; }
      var list = $("likely").querySelector("ul");
      list.textContent = "";
      found.forEach(function (c) {
        list.appendChild(h("li", {}, [h("a", {href: "/customers/" + c.id, text: c.name}),
          " " + c.identities.map(function (i) { return i.address; }).join(", ")]));
      });
      $("likely").hidden = false;
      $("new-save").textContent = "Create anyway";
    });
  });
  var start = new URLSearchParams(location.search);
  ["q", "tag", "company"].forEach(function (k) { form[k].value = start.get(k) || ""; });
  window.ccLogin.mount("Customers", "Sign in to find customers.", function (data) {
    $("me-name").textContent = data.user.display_name;
    load(false);
  }, function () {});
})();
