// 批量操作: a "全选" box ticks or clears every document box of the bulk form on the page
// (archive/templates/archive/documents/_bulk_form.html). No inline script: the CSP allows
// only the project's own files.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-bulk-all]").forEach((all) => {
    const boxes = () => document.querySelectorAll(`input[name="ids"][form="${all.dataset.bulkAll}"]`);
    all.hidden = false;
    all.closest("label")?.removeAttribute("hidden");
    all.addEventListener("change", () => boxes().forEach((box) => { box.checked = all.checked; }));
  });
});
