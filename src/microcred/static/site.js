// Progressive enhancement only: every page works without this file.
// "Copy link" buttons copy the value of the input they name and say so.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field || !navigator.clipboard) return;
  event.preventDefault();
  navigator.clipboard.writeText(field.value).then(() => {
    const status = document.getElementById(button.dataset.copy + "-status");
    if (status) status.textContent = "Link copied.";
    if (button.dataset.record) {
      fetch(button.dataset.record, {method: "POST", headers: {"X-CSRF-Token": button.dataset.csrf}});
    }
  });
});
