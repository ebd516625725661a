// Building DOM nodes without innerHTML (text is always text, never markup), shared by the
// console and the pipeline page: h("a", {href: url, text: name, onclick: fn}, [children]).
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
};
