/* Comments on a passage: selecting text in the article's body fills the comment form with
   the passage and where it starts (code points of the body's text, as the server counts).
   Without this file the passage can be pasted into the form; the server finds it. */
(function () {
  "use strict";

  function codePoints(text) { return Array.from(text).length; }

  function setup(form) {
    var body = document.getElementById(form.getAttribute("data-body"));
    var quote = document.getElementById("f-quote");
    var start = document.getElementById("f-start");
    if (!body || !quote || !start) { return; }
    quote.addEventListener("input", function () { start.value = ""; });
    document.addEventListener("selectionchange", function () {
      var selection = window.getSelection();
      if (!selection || selection.rangeCount === 0 || selection.isCollapsed) { return; }
      var range = selection.getRangeAt(0);
      if (!body.contains(range.startContainer) || !body.contains(range.endContainer)) { return; }
      var text = range.toString();
      if (!text.trim()) { return; }
      var before = document.createRange();
      before.selectNodeContents(body);
      before.setEnd(range.startContainer, range.startOffset);
      quote.value = text;
      start.value = String(codePoints(before.toString()));
    });
  }

  // A comment in the list lights its passage in the body, and the other way round.
  function link(list, body) {
    list.addEventListener("mouseover", function (event) {
      var item = event.target.closest("li[data-comment]");
      body.querySelectorAll("mark.comment-anchor").forEach(function (mark) {
        var ids = (mark.getAttribute("data-comments") || "").split(" ");
        mark.classList.toggle("active", !!item && ids.indexOf(item.getAttribute("data-comment")) !== -1);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("comment-form");
    if (form) { setup(form); }
    var list = document.getElementById("comment-list");
    var body = document.getElementById("comment-body");
    if (list && body) { link(list, body); }
  });
}());
