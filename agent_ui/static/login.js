// The sign-in card of the signed-in pages (console, supervisor view), drawn into #login, and
// the log-out button #logout. A page calls ccLogin.mount(title, hint, onSignedIn, onSignedOut):
// onSignedIn(data) gets POST /api/login's answer (user, csrf_token); onSignedOut() lets the page
// close its socket. ccLogin.show(message) brings the card back (after a 401, say).
window.ccLogin = (function () {
  "use strict";
  var h = window.ccDom.h, box = null, before = function () {};

  function show(message) {
    before();
    document.getElementById("app").hidden = true;
    box.hidden = false;
    box.querySelector(".form-error").textContent = message || "";
    box.querySelector("input[name=email]").focus();
  }
  function mount(title, hint, onSignedIn, onSignedOut) {
    box = document.getElementById("login");
    before = onSignedOut;
    var err = h("div", {cls: "form-error", role: "alert"});
    var form = h("form", {cls: "login-card", autocomplete: "on", onsubmit: function (e) {
      e.preventDefault();
      err.textContent = "";
      window.ccApi.call("POST", "/api/login", {email: form.email.value, password: form.password.value})
        .then(function (r) {
          if (!r.ok) { err.textContent = window.ccApi.failed(r); return; }
          signedIn(r.data);
        }, function () { err.textContent = "Cannot reach the server."; });
    }}, [
      h("h1", {text: title}), h("p", {cls: "muted", text: hint}),
      h("label", {}, ["Email", h("input", {name: "email", type: "email", required: "", autocomplete: "username"})]),
      h("label", {}, ["Password", h("input", {name: "password", type: "password", required: "",
                                              autocomplete: "current-password"})]),
      err, h("button", {cls: "btn primary", type: "submit", text: "Sign in"}),
    ]);
    box.textContent = "";
    box.appendChild(form);
    window.ccApi.unauthorized = function () { show(); };
    document.getElementById("logout").addEventListener("click", function () {
      window.ccApi.call("POST", "/api/logout").then(function () { window.ccApi.csrf = null; show(); });
    });
    function signedIn(data) {
      window.ccApi.csrf = data.csrf_token;
      box.hidden = true;
      document.getElementById("app").hidden = false;
      onSignedIn(data);
    }
    window.ccApi.call("GET", "/api/me").then(function (r) { if (r.ok) signedIn(r.data); else show(); },
                                             function () { show(); });
  }
  return {mount: mount, show: show};
})();
