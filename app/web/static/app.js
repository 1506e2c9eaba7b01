// The call page: the audio player and the transcript follow each other.
(function () {
  "use strict";
  function init() {
    const player = document.getElementById("player");
    const lines = Array.from(document.querySelectorAll("#transcript .seg"));
    if (!player) return;
    function seek(seconds) {
      player.currentTime = seconds;
      const playing = player.play();
      if (playing && playing.catch) playing.catch(function () {});
    }
    lines.forEach(function (li) {
      li.addEventListener("click", function () { seek(parseFloat(li.dataset.start)); });
      li.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); seek(parseFloat(li.dataset.start)); }
      });
    });
    document.querySelectorAll("[data-seek]").forEach(function (el) {
      el.addEventListener("click", function (e) {
        e.preventDefault();
        seek(parseFloat(el.dataset.seek));
        const id = el.dataset.criterion;
        lines.forEach(function (li) {
          li.classList.toggle("evidence-focus", !!id && li.dataset.criteria.split(" ").indexOf(id) >= 0);
        });
      });
    });
    let current = null;
    function highlight() {
      const t = player.currentTime;
      let found = null;
      for (const li of lines) {
        if (t >= parseFloat(li.dataset.start) - 0.05 && t < parseFloat(li.dataset.end) + 0.05) { found = li; }
      }
      if (found === current) return;
      if (current) current.classList.remove("speaking");
      current = found;
      if (current) {
        current.classList.add("speaking");
        current.scrollIntoView({ block: "nearest" });
      }
    }
    player.addEventListener("timeupdate", highlight);
    player.addEventListener("seeked", highlight);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

// A field to copy from (a shopper's new link): selected whole when clicked. Here rather than in
// an onclick attribute, which the pages' Content-Security-Policy does not run.
(function () {
  "use strict";
  function init() {
    document.querySelectorAll("[data-select-on-focus]").forEach(function (el) {
      el.addEventListener("focus", function () { el.select(); });
      el.addEventListener("click", function () { el.select(); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
