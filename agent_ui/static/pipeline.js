// The opportunity pipeline: one column per stage, each card movable to another stage, and the
// weighted forecast per owner and month above. Reads and writes the same API as any client.
(function () {
  "use strict";
  var csrf = null, stages = [];
  function $(id) { return document.getElementById(id); }
  var h = window.ccDom.h;
  function money(amount, currency) {
    try { return Number(amount).toLocaleString(undefined, {style: "currency", currency: currency}); }
    catch (e) { return amount + " " + currency; }
  }
  function get(path) {
    return fetch(path, {credentials: "same-origin"}).then(function (r) {
      if (r.status === 401) { $("login-needed").hidden = false; throw new Error("login"); }
      return r.json();
    });
  }
  function move(id, stage) {
    fetch("/api/opportunities/" + id, {method: "PATCH", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify({stage: stage})})
      .then(load);
  }
  function card(o) {
    var pick = h("select", {"aria-label": "Move " + o.name + " to stage", onchange: function (e) { move(o.id, e.target.value); }},
      stages.map(function (s) {
        var opt = h("option", {value: s.stage, text: s.label});
        if (s.stage === o.stage) opt.selected = true;
        return opt;
      }));
    return h("div", {cls: "card", "data-id": o.id}, [
      h("div", {text: o.name}),
      h("div", {cls: "muted"}, [o.customer]),
      h("div", {}, [h("span", {cls: "amount", text: money(o.amount, o.currency)}), " \u00b7 " + o.probability + " %" +
                    (o.expected_close ? " \u00b7 closes " + o.expected_close : "")]),
      pick,
    ]);
  }
  function load() {
    get("/api/opportunities/board").then(function (data) {
      stages = data.stages;
      var board = $("board");
      board.textContent = "";
      stages.forEach(function (s) {
        board.appendChild(h("section", {cls: "column " + (s.outcome || ""), "data-stage": s.stage}, [
          h("h2", {}, [s.label, h("span", {text: s.count + " \u00b7 " + Number(s.total).toLocaleString()})]),
        ].concat(s.opportunities.map(card))));
      });
    });
    get("/api/opportunities/forecast?period=month").then(function (data) {
      var box = $("forecast");
      box.textContent = "";
      data.forecast.forEach(function (f) {
        box.appendChild(h("div", {cls: "cell"}, [
          h("span", {cls: "muted", text: (f.owner || "Unassigned") + " \u00b7 " + f.period}),
          h("b", {text: money(f.weighted, f.currency)}),
          h("span", {cls: "muted", text: "weighted, of " + money(f.pipeline, f.currency)}),
        ]));
      });
    });
  }
  get("/api/me").then(function (me) { csrf = me.csrf_token; load(); }, function () {});
})();
