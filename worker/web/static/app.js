// Live counters: server-sent events from /events update every [data-counter] without a reload.
"use strict";
(function () {
  const live = document.querySelector("[data-live]");
  if (!live || !window.EventSource) return;
  const state = document.getElementById("live-state");
  const feed = document.getElementById("feed");
  const source = new EventSource(live.dataset.live);
  source.onopen = () => { if (state) state.textContent = "live"; };
  source.onerror = () => { if (state) state.textContent = "reconnecting…"; };
  source.addEventListener("counters", (event) => {
    const counters = JSON.parse(event.data);
    for (const [key, value] of Object.entries(counters)) {
      for (const node of document.querySelectorAll(`[data-counter="${key}"]`)) {
        if (node.textContent !== String(value)) {
          node.textContent = String(value);  // text, never HTML
          node.classList.remove("moved"); void node.offsetWidth; node.classList.add("moved");
        }
      }
    }
  });
  source.addEventListener("outcome", (event) => {
    if (!feed) return;
    const outcome = JSON.parse(event.data);
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = outcome.status === "failed" ? "/failures" : "/records/" + encodeURIComponent(outcome.id);
    link.textContent = outcome.title || outcome.source || outcome.id;
    item.append(link, " ");
    const where = document.createElement("span");
    where.className = "muted";
    where.textContent = outcome.site || outcome.source || "";
    item.append(where);
    if (outcome.status !== "unique") {
      const badge = document.createElement("span");
      badge.className = outcome.status === "failed" ? "badge fail" : "badge dup";
      badge.textContent = outcome.status.replace("_", " ");
      item.append(" ", badge);
    }
    feed.prepend(item);
    while (feed.children.length > 20) feed.lastElementChild.remove();
  });
})();
