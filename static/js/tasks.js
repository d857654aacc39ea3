// The tasks page: copy a task's title or text to the clipboard (publisher/tasks/views.py).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.value);
  } catch (err) {
    // No clipboard API (an http page, an old browser): select it and copy the old way.
    source.select();
    document.execCommand("copy");
  }
  const note = button.parentElement.querySelector(".copied");
  if (note) note.hidden = false;
  button.dataset.copied = "1";
});
