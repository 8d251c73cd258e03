// Refresh every element with data-refresh from its fragment URL, without a front-end build.
document.querySelectorAll("[data-refresh]").forEach((element) => {
  const every = Number(element.dataset.every || 5000);
  const refresh = async () => {
    if (document.activeElement && element.contains(document.activeElement)) return;
    try {
      const reply = await fetch(element.dataset.refresh, { credentials: "same-origin" });
      if (reply.ok) element.innerHTML = await reply.text();
      element.dataset.refreshedAt = String(Date.now());
    } catch (error) {
      console.warn("refresh failed", error);
    }
  };
  setInterval(refresh, every);
});
