/* Import progress: poll the job's JSON every 500 ms, move the bar, reload when it is finished. */
(function () {
  "use strict";
  var bar = document.getElementById("import-progress");
  if (!bar || !window.fetch) { return; }
  var url = bar.getAttribute("data-status-url");
  var status = document.getElementById("import-status");
  var count = document.getElementById("import-count");
  var template = count ? count.getAttribute("data-template") || "" : "";

  function show(job) {
    if (job.total_rows > 0) {
      bar.max = job.total_rows;
      bar.value = Math.min(job.processed_rows, job.total_rows);
      if (count) {
        count.textContent = template.replace("{done}", job.processed_rows)
                                    .replace("{total}", job.total_rows);
      }
    }
    if (status) {
      var key = job.status === "queued" ? "data-queued"
        : (job.total_rows > 0 && job.processed_rows >= job.total_rows ? "data-writing" : "data-running");
      var text = status.getAttribute(key);
      if (text && status.textContent !== text) { status.textContent = text; }
    }
  }

  function tick() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (job) {
        show(job);
        if (job.status === "done" || job.status === "failed") {
          window.location.reload();
          return;
        }
        window.setTimeout(tick, 500);
      })
      .catch(function () { window.setTimeout(tick, 2000); });
  }

  window.setTimeout(tick, 500);
}());
