/* Public pages: choosing a platform filters at once; the form works without this file. */
(function () {
  "use strict";
  function wire() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) { select.form.submit(); }
      });
    });
  }
  // The script may run after the document is parsed (deferred or cached): wire at once then.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
