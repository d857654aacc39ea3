/* Live status (issue 12): an element with data-live="<url>" is refreshed from that small JSON
   answer every few seconds while the page is visible. Vanilla JS, no library. */
(function () {
  "use strict";
  var PERIOD = 4000;

  function setBadge(badge, prefix, status, label) {
    if (!badge) { return; }
    badge.className = "badge " + prefix + status;
    badge.textContent = label;
  }

  function applyArticle(root, data) {
    setBadge(document.querySelector("#article-status .badge"), "art-", data.status, data.label);
    (data.deliveries || []).forEach(function (d) {
      var row = root.querySelector("#delivery-" + d.id);
      if (!row) { return; }
      row.setAttribute("data-status", d.status);
      setBadge(row.querySelector("[data-field=status]"), "delivery-", d.status, d.label);
      var attempts = row.querySelector("[data-field=attempts]");
      if (attempts) { attempts.textContent = String(d.attempts); }
      var error = row.querySelector("[data-field=error]");
      if (error) { error.textContent = d.error || "—"; }
      var post = row.querySelector("[data-field=post]");
      if (post && d.post_url && !post.querySelector("a")) {
        var link = document.createElement("a");
        link.href = d.post_url;
        link.rel = "noopener noreferrer";
        link.textContent = post.getAttribute("data-open-text") || d.post_url;
        post.textContent = "";
        post.appendChild(link);
      }
    });
  }

  function applyQueue(root, data) {
    Object.keys(data.counts || {}).forEach(function (status) {
      var cell = root.querySelector("#count-" + status);
      if (cell) { cell.textContent = String(data.counts[status]); }
    });
  }

  function poll(root) {
    if (document.hidden) { return; }
    fetch(root.getAttribute("data-live"), {credentials: "same-origin",
                                           headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (data.deliveries) { applyArticle(root, data); } else { applyQueue(root, data); }
        root.setAttribute("data-live-at", String(Date.now()));
      })
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }

  document.querySelectorAll("[data-live]").forEach(function (root) {
    window.setInterval(function () { poll(root); }, PERIOD);
  });
}());
