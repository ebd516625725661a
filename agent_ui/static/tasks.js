// The agent's follow-up tasks in the console's side bar (soonest due first, overdue ones marked),
// ticked off with a button, and the form in the customer panel that adds one about a customer.
// Reloaded when the server says the agent's tasks changed (event "tasks_changed" or
// "task_overdue"); the due/overdue text is recomputed every tick from due_at.
window.ccTasks = (function () {
  "use strict";
  var h = window.ccDom.h, api = window.ccApi.call, failed = window.ccApi.failed;
  var toast = window.ccDom.toast, tasks = [];

  function dueText(iso) {
    var due = new Date(iso), left = (due - Date.now()) / 1000, abs = Math.abs(left);
    var span = abs < 3600 ? Math.max(1, Math.round(abs / 60)) + " min"
             : abs < 172800 ? Math.round(abs / 3600) + " h" : Math.round(abs / 86400) + " days";
    if (left < 0) return "overdue by " + span;
    var day = due.toDateString() === new Date().toDateString() ? "today"
            : due.toLocaleDateString([], {weekday: "short", day: "numeric", month: "short"});
    return "due " + day + " " + due.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  }
  function draw() {
    var list = document.getElementById("tasks");
    list.textContent = "";
    tasks.forEach(function (t) {
      var li = h("li", {cls: "task", "data-due": t.due_at}, [
        h("div", {cls: "task-text"}, [h("span", {cls: "task-title", text: t.title}),
                                      h("span", {cls: "task-due small", text: dueText(t.due_at)})]),
        h("button", {cls: "btn small", type: "button", text: "Done", "aria-label": "Done: " + t.title,
                     onclick: function (e) { e.target.disabled = true; done(t.id); }}),
      ]);
      li.classList.toggle("overdue", Date.parse(t.due_at) < Date.now());
      list.appendChild(li);
    });
    document.getElementById("task-count").textContent = tasks.length ? String(tasks.length) : "";
    document.getElementById("no-tasks").hidden = tasks.length > 0;
  }
  function refresh() {
    api("GET", "/api/tasks").then(function (r) { if (r.ok) { tasks = r.data.tasks; draw(); } });
  }
  function done(id) {
    api("POST", "/api/tasks/" + id + "/done").then(function (r) {
      if (!r.ok) toast(failed(r), "bad");
      refresh();
    });
  }
  function tomorrowMorning() {
    var d = new Date(Date.now() + 86400000);
    d.setHours(9, 0, 0, 0);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T09:00";
  }
  // A small form for the customer panel: a task about this customer, for me, due when I say.
  function form(customerId) {
    var title = h("input", {type: "text", maxlength: "300", placeholder: "Call back, send the quote\u2026",
                            "aria-label": "Follow-up task"});
    var due = h("input", {type: "datetime-local", value: tomorrowMorning(), "aria-label": "Due"});
    return h("form", {cls: "task-form", onsubmit: function (e) {
      e.preventDefault();
      if (!title.value.trim() || !due.value) return;
      api("POST", "/api/tasks", {title: title.value, customer_id: customerId,
                                      due_at: new Date(due.value).toISOString()}).then(function (r) {
        if (!r.ok) { toast(failed(r), "bad"); return; }
        title.value = ""; toast("Task added."); refresh();
      });
    }}, [h("h3", {text: "Follow up"}), title, h("div", {cls: "task-form-row"}, [due,
         h("button", {cls: "btn small", type: "submit", text: "Add task"})])]);
  }
  return {
    refresh: refresh,
    form: form,
    tick: function () {
      document.querySelectorAll("#tasks .task").forEach(function (li) {
        var iso = li.getAttribute("data-due");
        li.querySelector(".task-due").textContent = dueText(iso);
        li.classList.toggle("overdue", Date.parse(iso) < Date.now());
      });
    },
  };
})();
