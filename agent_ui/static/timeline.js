// A customer's whole timeline in the console's customer panel: conversations, messages, calls,
// cases, leads, opportunities and notes, newest first, paged back in time, with a filter and a
// box to add a note. Reads GET /api/customers/{id}/timeline, the same API any client has.
window.ccTimeline = (function () {
  "use strict";
  var h = window.ccDom.h, toast = window.ccDom.toast, api = window.ccApi.call;
  var failed = window.ccApi.failed;
  var LABEL = {interaction: "Conversation", message: "Message", call: "Call", "case": "Case",
               lead: "Lead", opportunity: "Opportunity", note: "Note", internal_note: "Internal note"};
  var FILTERS = [
    {key: "all", label: "Everything", kinds: null},
    {key: "talk", label: "Conversations", kinds: ["interaction", "message", "call"]},
    {key: "work", label: "Cases and sales", kinds: ["case", "lead", "opportunity"]},
    {key: "notes", label: "Notes", kinds: ["note", "internal_note"]},
  ];

  function when(iso) {
    var d = new Date(iso), today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"})
                 : d.toLocaleDateString([], {day: "numeric", month: "short", year: "numeric"});
  }

  // Builds the section for one customer, `currentInteraction` highlighted.
  return function timeline(customerId, currentInteraction) {
    var items = [], nextBefore = null, filter = FILTERS[0];
    var list = h("ol", {cls: "timeline", "aria-label": "Timeline"});
    var more = h("button", {cls: "btn ghost small", type: "button", text: "Show older", hidden: "",
                            onclick: function () { load(nextBefore); }});
    var pick = h("select", {"aria-label": "Show in the timeline", onchange: function (e) {
      filter = FILTERS.filter(function (f) { return f.key === e.target.value; })[0]; draw();
    }}, FILTERS.map(function (f) { return h("option", {value: f.key, text: f.label}); }));
    var note = h("textarea", {rows: "2", maxlength: "5000", placeholder: "Add a note about this customer\u2026",
                              "aria-label": "Note about the customer"});
    var form = h("form", {cls: "note-form", onsubmit: function (e) {
      e.preventDefault();
      if (!note.value.trim()) return;
      api("POST", "/api/customers/" + customerId + "/notes", {body: note.value}).then(function (r) {
        if (!r.ok) { toast(failed(r), "bad"); return; }
        note.value = ""; items = []; load(null);
      });
    }}, [note, h("button", {cls: "btn small", type: "submit", text: "Add note"})]);

    function draw() {
      list.textContent = "";
      var shown = items.filter(function (it) { return !filter.kinds || filter.kinds.indexOf(it.kind) >= 0; });
      shown.forEach(function (it) {
        list.appendChild(h("li", {cls: "tl " + it.kind + (it.interaction_id === currentInteraction ? " current" : "")}, [
          h("div", {cls: "tl-head"}, [h("span", {cls: "tl-kind", text: LABEL[it.kind] || it.kind}),
                                      h("span", {cls: "muted small", text: when(it.at)})]),
          h("div", {cls: "tl-title", text: it.title}),
          it.detail ? h("div", {cls: "muted small tl-detail", text: it.detail}) : null,
        ]));
      });
      if (!shown.length) list.appendChild(h("li", {cls: "empty", text: "Nothing here yet."}));
      more.hidden = !nextBefore;
    }
    function load(before) {
      var path = "/api/customers/" + customerId + "/timeline?limit=30" +
                 (before ? "&before=" + encodeURIComponent(before) : "");
      api("GET", path).then(function (r) {
        if (!r.ok) return;
        items = items.concat(r.data.items); nextBefore = r.data.next_before; draw();
      });
    }
    load(null);
    var section = h("section", {cls: "timeline-box"}, [
      h("div", {cls: "tl-bar"}, [h("h3", {text: "Timeline"}), pick]), form, list, more]);
    // The console calls it as the conversation goes on, so the timeline stays live.
    var pending = null;
    section.refresh = function () {
      clearTimeout(pending);
      pending = setTimeout(function () { items = []; load(null); }, 800);
    };
    return section;
  };
})();
