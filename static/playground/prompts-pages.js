// The prompt pages: the namespace picker follows the selection (its Go button serves without scripts).
document.documentElement.classList.add("js");
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.submit());
}
