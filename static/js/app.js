/* govmedia pages: small progressive enhancements; every form works without this file. */
(function () {
  "use strict";

  // Repeating rows (staff, contacts): <template id="NAME-row-template" data-next="N">.
  function addRow(button) {
    var name = button.getAttribute("data-add-row");
    var template = document.getElementById(name + "-row-template");
    if (!template) { return; }
    var next = parseInt(template.getAttribute("data-next") || "0", 10);
    var html = template.innerHTML.replace(/__i__/g, String(next));
    template.setAttribute("data-next", String(next + 1));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    template.parentNode.insertBefore(row, template);
    var first = row.querySelector("input");
    if (first) { first.focus(); }
  }

  // The handle hint follows the chosen platform (options carry data-hint).
  function showHint(select) {
    var target = document.getElementById(select.getAttribute("data-hint-target"));
    var option = select.options[select.selectedIndex];
    if (target && option) { target.textContent = option.getAttribute("data-hint") || ""; }
  }

  // Fields shown only for one choice of a select (the event form's "change" fields).
  // data-toggles names one or more boxes (space-separated); each box's data-shown-for names
  // the choices it belongs to (space-separated).
  function toggle(select) {
    select.getAttribute("data-toggles").split(" ").forEach(function (id) {
      var box = document.getElementById(id);
      if (!box) { return; }
      var shown = box.getAttribute("data-shown-for").split(" ").indexOf(select.value) !== -1;
      box.hidden = !shown;
      box.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !shown; });
    });
  }

  // The searchable pickers (templates/_macros.html account_picker, unit_picker): as one types,
  // the select lists the matches from data-source; "Find" is for pages without scripts.
  function picker(box) {
    var input = box.querySelector("input[type=search]");
    var select = document.getElementById(box.getAttribute("data-target"));
    var status = box.querySelector("[data-picker-status]");
    var find = box.querySelector(".picker-find");
    var timer = null;
    var asked = 0;
    // Removed, not hidden: a hidden submit button would still be the form's default button,
    // and Enter in any other field would "Find" instead of submitting the form.
    if (find) { find.remove(); }
    function fill(items) {
      var blank = select.querySelector("option[value='']");
      var chosen = select.value;
      select.innerHTML = "";
      if (blank) { select.appendChild(blank); }
      items.forEach(function (item) {
        var option = document.createElement("option");
        option.value = String(item.id);
        option.textContent = item.text;
        if (String(item.id) === chosen) { option.selected = true; }
        select.appendChild(option);
      });
      if (!blank && items.length && !select.value) { select.value = String(items[0].id); }
      if (status) { status.textContent = status.getAttribute("data-found").replace("%n", String(items.length)); }
    }
    function ask() {
      var mine = ++asked;
      var source = box.getAttribute("data-source");
      var url = source + (source.indexOf("?") < 0 ? "?" : "&") + "q=" +
        encodeURIComponent(input.value.trim());
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : {items: []}; })
        .then(function (body) { if (mine === asked) { fill(body.items || []); } });
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); window.clearTimeout(timer); ask(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-account-picker]").forEach(picker);
    document.querySelectorAll("[data-add-row]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { addRow(button); });
    });
    document.querySelectorAll("select[data-hint-target]").forEach(function (select) {
      select.addEventListener("change", function () { showHint(select); });
      showHint(select);
    });
    document.querySelectorAll("select[data-toggles]").forEach(function (select) {
      select.addEventListener("change", function () { toggle(select); });
      toggle(select);
    });
    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    document.querySelectorAll("a[data-back]").forEach(function (link) {
      if (window.history.length > 1) {
        link.addEventListener("click", function (event) {
          event.preventDefault();
          window.history.back();
        });
      }
    });
  });
}());
