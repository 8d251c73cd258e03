// Live console without a front-end build: refresh every element with data-refresh from its fragment URL,
// and tick lock countdowns between refreshes (only on the wall clock: a demo's simulated clock runs faster).
document.querySelectorAll("[data-refresh]").forEach((element) => {
  const every = Number(element.dataset.every || 5000);
  const refresh = async () => {
    // never replace a form someone is filling in; a focused grid cell is refreshed and keeps the focus
    const active = document.activeElement;
    if (active && element.contains(active) && active.matches("input, select, textarea, button")) return;
    const row = active && element.contains(active) ? active.closest("tr[data-run]") : null;
    const focused = row && active.dataset.workflow
      ? `tr[data-run="${row.dataset.run}"] td.cell[data-workflow="${active.dataset.workflow}"]` : null;
    try {
      const reply = await fetch(element.dataset.refresh, { credentials: "same-origin" });
      if (reply.ok) {
        element.innerHTML = await reply.text();
        if (focused) element.querySelector(focused)?.focus();
      }
      element.dataset.refreshedAt = String(Date.now());
    } catch (error) {
      console.warn("refresh failed", error);
    }
  };
  setInterval(refresh, every);
});

const formatLeft = (ms) => {
  if (ms < 0) return "lock passed";
  const minutes = Math.floor(ms / 60000);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
};

setInterval(() => {
  document.querySelectorAll(".countdown[data-live='yes']").forEach((element) => {
    if (!element.dataset.offset) {
      element.dataset.offset = String(Date.parse(element.dataset.now) - Date.now());
    }
    const serverNow = Date.now() + Number(element.dataset.offset);
    element.textContent = formatLeft(Date.parse(element.dataset.deadline) - serverNow);
  });
}, 1000);
