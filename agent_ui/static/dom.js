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
  toast: function (text, kind) {
    var t = window.ccDom.h("div", {cls: "toast " + (kind || ""), text: text, role: "status"});
    document.getElementById("toasts").appendChild(t);
    setTimeout(function () { t.remove(); }, 5000);
  },
};
