/* Public pages: choosing a platform filters at once; the form works without this file. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) { select.form.submit(); }
      });
    });
  });
})();
