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
    // From a search result: /calls/7?t=83.20#seg-12 opens the player at that moment.
    const at = parseFloat(new URLSearchParams(window.location.search).get("t"));
    if (!isNaN(at)) {
      const go = function () { player.currentTime = at; highlight(); };
      if (player.readyState >= 1) go();
      else player.addEventListener("loadedmetadata", go, { once: true });
    }
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

// The upload page: one request per file, so one bad file refuses only itself, with a bar for
// the bytes sent and each call's status followed until it is scored.
(function () {
  "use strict";
  function init() {
    const form = document.getElementById("upload-form");
    if (!form) return;
    const input = form.querySelector("input[type=file]");
    const box = document.getElementById("upload-progress");
    const bar = document.getElementById("upload-bar");
    const count = document.getElementById("upload-count");
    const table = document.getElementById("upload-results");
    const body = table.querySelector("tbody");
    const button = form.querySelector("button[type=submit]");
    function cell(row, text, cls) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      row.appendChild(td);
      return td;
    }
    function addRow(name, answer) {
      const row = document.createElement("tr");
      cell(row, name);
      if (answer.error || !answer.stored || !answer.stored.length) {
        cell(row, "—");
        // Our own refusal, or another layer's (413 over the size limit: {"detail": ...}).
        cell(row, answer.error || answer.detail || "refused", "error");
      } else {
        const id = answer.stored[0].call_id;
        const link = document.createElement("a");
        link.href = "/calls/" + id;
        link.textContent = "#" + id;
        cell(row, "").appendChild(link);
        cell(row, "received", "status");
        row.dataset.call = id;
      }
      body.appendChild(row);
    }
    function follow() {
      const rows = Array.from(body.querySelectorAll("tr[data-call]")).filter(function (r) {
        const s = r.querySelector(".status").textContent;
        return s !== "scored" && s !== "failed";
      });
      if (!rows.length) return;
      const ids = rows.map(function (r) { return r.dataset.call; }).join(",");
      fetch("/upload/status?ids=" + ids, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (statuses) {
          rows.forEach(function (r) {
            if (statuses[r.dataset.call]) r.querySelector(".status").textContent = statuses[r.dataset.call];
          });
          setTimeout(follow, 2000);
        })
        .catch(function () { setTimeout(follow, 5000); });
    }
    form.addEventListener("submit", function (e) {
      const files = Array.from(input.files);
      if (!files.length || !window.FormData) return;  // the plain form post
      e.preventDefault();
      const total = files.reduce(function (a, f) { return a + f.size; }, 0) || 1;
      let sent = 0;
      let i = 0;
      box.hidden = false;
      table.hidden = false;
      button.disabled = true;
      const error = document.getElementById("upload-error");
      if (error) error.remove();
      function next() {
        count.textContent = i + " of " + files.length;
        if (i >= files.length) {
          bar.value = 100;
          button.disabled = false;
          form.reset();
          follow();
          return;
        }
        const file = files[i];
        const data = new FormData(form);
        data.delete("audio");
        data.append("audio", file, file.name);
        if (!form.elements.started_at.value) {
          data.set("started_at", new Date(file.lastModified).toISOString());
        }
        const xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.onprogress = function (ev) {
          if (ev.lengthComputable) bar.value = (100 * (sent + file.size * ev.loaded / ev.total)) / total;
        };
        xhr.onload = function () {
          let answer;
          try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = { error: "the server answered " + xhr.status }; }
          addRow(file.name, answer);
          sent += file.size;
          i += 1;
          next();
        };
        xhr.onerror = function () {
          addRow(file.name, { error: "not sent: the connection failed" });
          sent += file.size;
          i += 1;
          next();
        };
        xhr.send(data);
      }
      next();
    });
    if (body.querySelector("tr[data-call]")) follow();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
