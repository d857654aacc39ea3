/* Live status (issue 12): an element with data-live="<url>" is refreshed from that small JSON
   answer every few seconds (data-live-period, in ms) while the page is visible: an article's
   deliveries, the queue's counts, an import's progress and then its result. Vanilla JS. */
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

  function applyImport(root, data) {
    if (!root.isConnected) { return false; }  // an earlier answer already showed the outcome
    if (data.html) {  // finished: the outcome, rendered by the server, takes the place of the bar
      var holder = document.createElement("div");
      holder.innerHTML = data.html;
      root.replaceWith.apply(root, Array.prototype.slice.call(holder.childNodes));
      return false;
    }
    var bar = root.querySelector("#import-progress");
    if (bar && data.total_rows > 0) {
      bar.max = data.total_rows;
      bar.value = Math.min(data.processed_rows, data.total_rows);
    }
    var status = root.querySelector("#import-status");
    if (status && status.textContent !== data.label) { status.textContent = data.label; }
    var count = root.querySelector("#import-count");
    if (count) { count.textContent = data.count_label || ""; }
    return true;
  }

  function apply(root, data) {
    if (data.deliveries) { applyArticle(root, data); return true; }
    if (data.counts) { applyQueue(root, data); return true; }
    return applyImport(root, data);
  }

  function poll(root, stop) {
    if (document.hidden) { return; }
    fetch(root.getAttribute("data-live"), {credentials: "same-origin",
                                           headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        root.setAttribute("data-live-at", String(Date.now()));
        if (!apply(root, data)) { stop(); }  // nothing more will change
      })
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }

  document.querySelectorAll("[data-live]").forEach(function (root) {
    var period = parseInt(root.getAttribute("data-live-period"), 10) || PERIOD;
    var timer = window.setInterval(function () {
      poll(root, function () { window.clearInterval(timer); });
    }, period);
  });
}());
