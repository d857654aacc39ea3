/* Article editor: a small formatting toolbar (with an image button), the live Weibo counter,
   findings that select their text in the editor, and the video upload with its progress bar. The form works
   without this file (except the video, which needs it). */
(function () {
  "use strict";

  // Python counts code points, the textarea UTF-16 units: convert offsets for astral characters.
  function toUnits(text, codePoints) {
    var units = 0, seen = 0;
    while (seen < codePoints && units < text.length) {
      var code = text.charCodeAt(units);
      units += (code >= 0xD800 && code <= 0xDBFF) ? 2 : 1;
      seen += 1;
    }
    return units;
  }

  function countChars(text) { return Array.from(text).length; }

  function wrap(area, before, after) {
    var start = area.selectionStart, end = area.selectionEnd, value = area.value;
    var inner = value.slice(start, end);
    area.value = value.slice(0, start) + before + inner + after + value.slice(end);
    area.focus();
    area.setSelectionRange(start + before.length, start + before.length + inner.length);
  }

  function setupToolbar(bar) {
    var area = document.getElementById(bar.getAttribute("data-for"));
    if (!area) { return; }
    bar.hidden = false;
    bar.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      var tag = button.getAttribute("data-wrap");
      if (tag) { wrap(area, "<" + tag + ">", "</" + tag + ">"); return; }
      var list = button.getAttribute("data-list");
      if (list) { wrap(area, "<" + list + ">\n<li>", "</li>\n</" + list + ">"); return; }
      var picker = button.getAttribute("data-image");
      if (picker) { document.getElementById(picker).click(); return; }
      if (button.getAttribute("data-link")) {
        var href = window.prompt(button.getAttribute("data-prompt") || "https://", "https://");
        if (href && /^https?:\/\//i.test(href)) {
          wrap(area, '<a href="' + href.replace(/"/g, "&quot;") + '">', "</a>");
        }
      }
    });
  }

  // The image button: the file goes up on its own request, checked by its content on the
  // server like a cover; its address is inserted at the cursor as <img>.
  function setupImage(input, area) {
    var status = document.getElementById("image-status");
    input.addEventListener("change", function () {
      var file = input.files[0];
      if (!file) { return; }
      var at = area.selectionEnd;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", input.getAttribute("data-upload-url"));
      xhr.setRequestHeader("X-CSRFToken", input.getAttribute("data-csrf"));
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      status.textContent = input.getAttribute("data-uploading");
      xhr.addEventListener("loadend", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        input.value = "";
        if (xhr.status === 201 && body) {
          var tag = '<p><img src="' + body.src + '" alt="" width="' + body.width +
            '" height="' + body.height + '"></p>';
          area.value = area.value.slice(0, at) + tag + area.value.slice(at);
          area.focus();
          area.setSelectionRange(at + tag.length, at + tag.length);
          status.textContent = input.getAttribute("data-done");
        } else {
          status.textContent = input.getAttribute("data-failed") + " " +
            ((body && body.error && body.error.message) || xhr.status);
        }
      });
      xhr.send(file);
    });
  }

  function setupCounter(counter) {
    var text = document.getElementById("f-weibo_text");
    var title = document.getElementById("f-title");
    var link = document.getElementById("f-source_url");
    var limit = parseInt(counter.getAttribute("data-limit") || "140", 10);
    var count = counter.querySelector(".count"), over = counter.querySelector(".over");
    function update() {
      var body = ((text && text.value.trim()) || (title && title.value.trim()) || "");
      var url = link ? link.value.trim() : "";
      var total = countChars(url ? (body ? body + " " + url : url) : body);
      count.textContent = String(total);
      var tooLong = total > limit;
      counter.classList.toggle("over", tooLong);
      over.hidden = !tooLong;
    }
    [text, title, link].forEach(function (el) { if (el) { el.addEventListener("input", update); } });
    counter.hidden = false;
    update();
  }

  function setupLocate(button) {
    var field = document.getElementById("f-" + button.getAttribute("data-field"));
    if (!field || typeof field.setSelectionRange !== "function") { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var value = field.value;
      var start = toUnits(value, parseInt(button.getAttribute("data-start"), 10));
      var end = toUnits(value, parseInt(button.getAttribute("data-end"), 10));
      field.focus();
      field.setSelectionRange(start, end);
      // Scroll the selection into view: put the caret there and let the browser follow it.
      var lines = value.slice(0, start).split("\n").length;
      var lineHeight = parseFloat(window.getComputedStyle(field).lineHeight) || 20;
      field.scrollTop = Math.max(0, (lines - 3) * lineHeight);
    });
  }

  // The video goes up on its own request (it may be large), with a progress bar; the form
  // then carries only its id. The server reads type, duration and size from the file.
  function setupVideo(box) {
    var input = document.getElementById("f-video");
    var hidden = document.getElementById("f-video_id");
    var bar = document.getElementById("video-progress");
    var status = document.getElementById("video-status");
    var save = document.getElementById("save");
    input.addEventListener("change", function () {
      var file = input.files[0];
      if (!file) { return; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", box.getAttribute("data-upload-url") + "?name=" +
               encodeURIComponent(file.name));
      xhr.setRequestHeader("X-CSRFToken", box.getAttribute("data-csrf"));
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      bar.hidden = false;
      bar.value = 0;
      status.textContent = box.getAttribute("data-uploading");
      if (save) { save.disabled = true; }
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) { bar.value = Math.round(100 * event.loaded / event.total); }
      });
      xhr.addEventListener("loadend", function () {
        if (save) { save.disabled = false; }
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status === 201 && body) {
          bar.value = 100;
          hidden.value = body.id;
          status.textContent = box.getAttribute("data-done") + " " + body.duration.toFixed(1) +
            " s, " + body.width + "×" + body.height + ", " +
            (body.size / 1048576).toFixed(1) + " MB, " + body.mime;
        } else {
          bar.hidden = true;
          input.value = "";
          status.textContent = box.getAttribute("data-failed") + " " +
            ((body && body.error && body.error.message) || xhr.status);
        }
      });
      xhr.send(file);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var video = document.getElementById("video-field");
    if (video) { setupVideo(video); }
    document.querySelectorAll(".toolbar[data-for]").forEach(setupToolbar);
    var image = document.getElementById("f-body-image");
    var body = document.getElementById("f-body_html");
    if (image && body) { setupImage(image, body); }
    var counter = document.getElementById("weibo-counter");
    if (counter) { setupCounter(counter); }
    document.querySelectorAll("button.locate").forEach(setupLocate);
  });
}());
