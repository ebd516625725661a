// The JSON API as the pages call it: same-origin cookie session, the CSRF token on every call
// once logged in, bodies as JSON (or FormData as is), and every answer as {status, ok, data}.
// A page sets ccApi.csrf after login and ccApi.unauthorized to show its login form on a 401.
window.ccApi = {
  csrf: null,
  unauthorized: function () {},
  call: function (method, path, body) {
    var self = window.ccApi, opts = {method: method, credentials: "same-origin", headers: {}};
    if (self.csrf) opts.headers["X-CSRF-Token"] = self.csrf;
    if (body instanceof FormData) opts.body = body;  // the browser sets the multipart boundary
    else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (resp.status === 401 && path !== "/api/login") self.unauthorized();
        return {status: resp.status, ok: resp.ok, data: data};
      });
    });
  },
  failed: function (r) { return (r.data && r.data.message) || ("request failed (" + r.status + ")"); },
};
