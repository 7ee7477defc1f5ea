// Restore Desk: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Remember the browser's time zone so the server can show times in it (unless the profile overrides).
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + zone) === -1) {
      document.cookie = "tz=" + zone + "; path=/; SameSite=Lax; max-age=31536000";
    }
  } catch (e) { /* older browsers: the server falls back to TIME_ZONE */ }

  document.addEventListener("DOMContentLoaded", function () {
    // One submission per form: a second click does nothing (the server is idempotent as well).
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.submitted) { event.preventDefault(); return; }
        form.dataset.submitted = "1";
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; b.textContent = "Starting…"; });
      });
    });

    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });

    var start = document.getElementById("start-form");
    if (start) { enhanceStartForm(start); }

    var live = document.getElementById("session-live");
    if (live) { followSession(live); }
  });

  function enhanceStartForm(form) {
    var organization = form.querySelector("select[name=organization]");
    if (organization) {
      // Reload with the organization chosen, to show its backups and restore points.
      organization.addEventListener("change", function () {
        if (organization.value) {
          var url = new URL(window.location.href);
          url.searchParams.set("organization", organization.value);
          window.location.assign(url.toString());
        }
      });
    }
    var when = form.querySelector("input[name=point_in_time]");
    var note = document.getElementById("pit-note");
    var radios = form.querySelectorAll("input[name=point_choice]");
    var first = form.dataset.firstBackup ? new Date(form.dataset.firstBackup) : null;
    var last = form.dataset.lastBackup ? new Date(form.dataset.lastBackup) : null;
    function chosen() {
      var value = "latest";
      radios.forEach(function (r) { if (r.checked) { value = r.value; } });
      return value;
    }
    function explain() {
      if (!note) { return; }
      note.classList.remove("is-error");
      note.textContent = "";
      if (chosen() !== "custom" || !when || !when.value) { return; }
      var moment = new Date(when.value);
      if (moment > new Date()) {
        note.textContent = "This moment is in the future and will be refused.";
        note.classList.add("is-error");
      } else if (first && moment < first) {
        note.textContent = "This is before the first backup: the session will contain no data.";
      } else if (last && moment > last) {
        note.textContent = "This is after the last backup: the latest restore point will be used.";
      }
    }
    if (when) { when.addEventListener("input", explain); }
    radios.forEach(function (r) { r.addEventListener("change", explain); });
    explain();
  }

  function followSession(live) {
    if (live.dataset.state !== "working") { return; }
    var timer = window.setInterval(function () {
      var current = document.getElementById("session-live");
      fetch(current.dataset.statusUrl, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#session-live");
          if (!fresh) { return; }
          current.replaceWith(fresh);
          if (fresh.dataset.state !== "working") {
            window.clearInterval(timer);
            document.querySelectorAll(".stop-form").forEach(function (f) { f.remove(); });
          }
        })
        .catch(function () { /* keep the last state; try again on the next tick */ });
    }, 3000);
  }
})();
