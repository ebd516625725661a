// Building DOM nodes without innerHTML (text is always text, never markup), shared by the
// pages: h("a", {href: url, text: name, onclick: fn}, [children]); and toast(text, "bad"), a
// message shown for 5 s in the page's #toasts.
window.ccDom = {
  h: function (tag, props, children) {
    var el = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === "text") el.textContent = props[k];
      else if (k === "cls") el.className = props[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), props[k]);
      else el.setAttribute(k, props[k]);
    });
    (children || []).forEach(function (c) { if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return el;
  },
  // A deadline as people read it: "due Thu 12:00, in 4 days 12 h"; within the hour, to the
  // minute ("due 14:05, in 25 min"); past it, "overdue since Thu 12:00, 2 h ago".
  due: function (iso) {
    var at = new Date(iso), left = (at - new Date()) / 1000, span = Math.abs(left);
    var sameDay = at.toDateString() === new Date().toDateString();
    var when = (sameDay ? "" : at.toLocaleDateString([], {weekday: "short"}) + " ") +
               at.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
    if (span >= 7 * 86400) when = at.toLocaleDateString([], {day: "numeric", month: "short"}) + " " +
                                  at.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
    var days = Math.floor(span / 86400), hours = Math.floor(span % 86400 / 3600), mins = Math.floor(span % 3600 / 60);
    var howLong = days ? days + (days === 1 ? " day" : " days") + (hours ? " " + hours + " h" : "")
                : hours ? hours + " h" + (mins ? " " + mins + " min" : "") : Math.max(1, mins) + " min";
    return left > 0 ? "due " + when + ", in " + howLong : "overdue since " + when + ", " + howLong + " ago";
  },
  toast: function (text, kind) {
    var t = window.ccDom.h("div", {cls: "toast " + (kind || ""), text: text, role: "status"});
    document.getElementById("toasts").appendChild(t);
    setTimeout(function () { t.remove(); }, 5000);
  },
};
