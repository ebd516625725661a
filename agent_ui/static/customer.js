// A customer's record: details and custom attributes (their fields as the server's OpenAPI
// document describes them), phone numbers and email addresses, channels they must not be
// contacted by, possible duplicates with merge and undo, open work and the whole timeline.
// Every change goes through the same API as any client; a refusal is shown as the server says it.
(function () {
  "use strict";
  var h = window.ccDom.h, api = window.ccApi.call, toast = window.ccDom.toast, failed = window.ccApi.failed;
  function $(id) { return document.getElementById(id); }
  var id = Number(location.pathname.split("/").pop()), attributes = {}, current = null;
  var CHANNELS = [["sms", "SMS"], ["voice", "Calls"], ["email", "Email"], ["chat", "Chat"]];

  function save(changes, done) {
    return api("PATCH", "/api/customers/" + id, changes).then(function (r) {
      if (!r.ok) { toast(failed(r), "bad"); return; }
      toast(done || "Saved."); load();
    });
  }
  function attributeField(name, schema, value) {
    var kind = (schema.anyOf || [schema])[0], label = schema.description || name;
    if (kind.enum) {
      return h("label", {}, [label, h("select", {name: "attr." + name}, [h("option", {value: "", text: "\u2014"})]
        .concat(kind.enum.map(function (v) { var o = h("option", {value: v, text: v}); if (v === value) o.selected = true; return o; })))]);
    }
    var input = h("input", {name: "attr." + name, type: kind.type === "number" ? "number" : kind.format === "date" ? "date" : "text",
                            step: "any"});
    input.value = value === undefined || value === null ? "" : String(value);
    return h("label", {}, [label, input]);
  }
  function draw(c) {
    current = c;
    document.title = c.name + " \u00b7 Contact center";
    $("name").textContent = c.name;
    $("since").textContent = "Customer since " + new Date(c.created_at).toLocaleDateString();
    $("merged").hidden = !c.merged_into;
    $("merged").textContent = "";
    if (c.merged_into) $("merged").append("This record was merged into ", h("a", {href: "/customers/" + c.merged_into, text: "another one"}), ".");
    var f = $("details");
    f.name.value = c.name; f.company.value = c.company || ""; f.tags.value = c.tags.join(", ");
    $("attributes").textContent = "";
    Object.keys(attributes).forEach(function (k) { $("attributes").appendChild(attributeField(k, attributes[k], c.attributes[k])); });
    $("identities").textContent = "";
    c.identities.filter(function (i) { return i.kind === "phone" || i.kind === "email"; }).forEach(function (i) {
      $("identities").appendChild(h("li", {}, [h("span", {cls: "kind", text: i.kind}), i.address]));
    });
    $("consent").textContent = "";
    CHANNELS.forEach(function (ch) {
      var box = h("input", {type: "checkbox", name: ch[0], onchange: function (e) {
        var change = {}; change[ch[0]] = e.target.checked;
        save({consent: change}, e.target.checked ? "They will not be contacted by " + ch[1] + "." : "Contact by " + ch[1] + " allowed again.");
      }});
      box.checked = !!c.consent[ch[0]];
      $("consent").appendChild(h("label", {}, [box, ch[1]]));
    });
    $("work").textContent = "";
    c.workflow.forEach(function (w) {
      $("work").appendChild(h("li", {}, [h("span", {cls: "kind", text: w.kind}), "#" + w.id + " " + (w.title || ""),
                                         h("span", {cls: "muted", text: " \u00b7 " + w.status})]));
    });
    if (!c.workflow.length) $("work").appendChild(h("li", {cls: "muted", text: "Nothing open."}));
    $("timeline").textContent = "";
    $("timeline").appendChild(window.ccTimeline(id, null));
    api("GET", "/api/customers/" + id + "/duplicates").then(function (r) {
      $("duplicates").textContent = "";
      if (!r.ok) return;
      r.data.duplicates.forEach(function (d) {
        $("duplicates").appendChild(h("li", {}, [
          h("a", {href: "/customers/" + d.id, text: d.name || "Customer " + d.id}),
          h("span", {cls: "muted", text: d.reasons.join(", ")}),
          h("button", {cls: "btn ghost small", type: "button", text: "Merge into this record",
                       "aria-label": "Merge " + (d.name || d.id) + " into this record", onclick: function () { merge(d); }}),
        ]));
      });
      if (!r.data.duplicates.length) $("duplicates").appendChild(h("li", {cls: "muted", text: "None found."}));
    });
  }
  function merge(d) {
    if (!confirm("Merge " + (d.name || "customer " + d.id) + " into " + current.name + "? Their conversations, cases and history move here. You can undo it.")) return;
    api("POST", "/api/customers/" + id + "/merge", {merge: d.id}).then(function (r) {
      if (!r.ok) { toast(failed(r), "bad"); return; }
      var undo = h("button", {cls: "btn ghost small", type: "button", text: "Undo", onclick: function () {
        api("POST", "/api/audit/" + r.data.audit_id + "/undo").then(function (u) {
          if (!u.ok) { toast(failed(u), "bad"); return; }
          toast("Merge undone."); load();
        });
      }});
      var note = h("div", {cls: "toast", role: "status"}, ["Merged. ", undo]);
      $("toasts").appendChild(note);
      setTimeout(function () { note.remove(); }, 15000);
      load();
    });
  }
  function load() {
    api("GET", "/api/customers/" + id).then(function (r) {
      if (!r.ok) { $("name").textContent = failed(r); return; }
      draw(r.data);
    });
  }
  $("details").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target, attrs = {};
    Object.keys(attributes).forEach(function (k) {
      var v = f["attr." + k].value, kind = (attributes[k].anyOf || [attributes[k]])[0];
      attrs[k] = v === "" ? null : kind.type === "number" ? Number(v) : v;
    });
    save({name: f.name.value, company: f.company.value,
          tags: f.tags.value.split(",").map(function (t) { return t.trim(); }).filter(Boolean),
          attributes: attrs});
  });
  $("add-identity").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target;
    api("POST", "/api/customers/" + id + "/identities", {kind: f.kind.value, address: f.address.value}).then(function (r) {
      if (!r.ok) { toast(failed(r), "bad"); return; }
      f.address.value = ""; toast("Added."); load();
    });
  });
  window.ccLogin.mount("Customer", "Sign in to see the customer.", function (data) {
    $("me-name").textContent = data.user.display_name;
    // The workspace's custom attributes, as the API's own document describes them.
    api("GET", "/api/openapi.json").then(function (r) {
      attributes = (r.ok && r.data.components.schemas.CustomerAttributes || {}).properties || {};
      load();
    });
  }, function () {});
})();
