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
        form.querySelectorAll("button[type=submit]").forEach(function (b) {
          b.dataset.label = b.textContent;
          b.disabled = true;
          b.textContent = "Starting…";
        });
      });
    });
    // Back to a form already sent (the browser's back-forward cache keeps the page as it was): it may be sent
    // again, as a new submission. The server then shows the session this form started, unless the person
    // changed the request or presses "Start another session".
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) { return; }
      document.querySelectorAll("form[data-once]").forEach(function (form) {
        if (!form.dataset.submitted) { return; }
        delete form.dataset.submitted;
        form.querySelectorAll("button[type=submit]").forEach(function (b) {
          b.disabled = false;
          if (b.dataset.label) { b.textContent = b.dataset.label; }
        });
        var key = form.querySelector("input[name=submission_key]");
        if (key) { key.value = newKey(); }
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

    // The reason of a restore, save or export (restores/_job_fields.html) is counted as the start form's is.
    document.querySelectorAll("#job-form textarea[name=reason][data-max-length]").forEach(function (reason) {
      countCharacters(reason, parseInt(reason.dataset.maxLength, 10));
    });

    var job = document.getElementById("job-live");
    if (job) { followJob(job); }

    var syncProgress = document.getElementById("sync-progress");
    if (syncProgress) { followSyncProgress(syncProgress); }

    labelledTables();
    focusableScrollingTables();
    window.addEventListener("resize", focusableScrollingTables);
  });

  // On a phone each row of a table becomes a small card of "label: value" lines (portal.css, .stackable): every
  // cell takes its column's heading as its label. Without this script the table scrolls sideways instead.
  function labelledTables() {
    document.querySelectorAll("table.table:not(.stackable)").forEach(function (table) {
      var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.querySelector(".visually-hidden") ? "" : th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, index) {
          if (headings[index]) { cell.setAttribute("data-label", headings[index]); }
        });
      });
      table.classList.add("stackable");
    });
  }

  // Below desktop width a wide table scrolls inside its own box (portal.css): such a box takes the keyboard
  // focus, so that arrow keys scroll it.
  function focusableScrollingTables() {
    document.querySelectorAll("table.table").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth + 1) {
        table.setAttribute("tabindex", "0");
      } else {
        table.removeAttribute("tabindex");
      }
    });
  }

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
    enhancePointInTime(form);
    var reason = form.querySelector("textarea[name=reason]");
    if (reason && reason.dataset.maxLength) { countCharacters(reason, parseInt(reason.dataset.maxLength, 10)); }
  }

  // Only the fields of the chosen point-in-time mode are shown (and sent); typing into a field shown for
  // another mode (one the server marked) switches to that mode. A moment before the first backup is named
  // in an amber notice before anything starts.
  function enhancePointInTime(form) {
    var when = form.querySelector("input[name=point_in_time]");
    var note = document.getElementById("pit-note");
    var radios = form.querySelectorAll("input[name=point_choice]");
    var boxes = form.querySelectorAll("[data-point-mode]");
    var first = form.dataset.firstBackup ? new Date(form.dataset.firstBackup) : null;
    var last = form.dataset.lastBackup ? new Date(form.dataset.lastBackup) : null;
    function chosen() {
      var value = "latest";
      radios.forEach(function (r) { if (r.checked) { value = r.value; } });
      return value;
    }
    function showChosen() {
      var mode = chosen();
      boxes.forEach(function (box) {
        var shown = box.dataset.pointMode === mode || !!box.querySelector(".has-error");
        box.hidden = !shown;
        box.querySelectorAll("input, select").forEach(function (field) { field.disabled = !shown; });
      });
      explain();
    }
    function explain() {
      if (!note) { return; }
      var text = "";
      var refused = false;
      if (chosen() === "custom" && when && when.value) {
        var moment = new Date(when.value);
        if (moment > new Date()) {
          text = "This moment is in the future and will be refused.";
          refused = true;
        } else if (first && moment < first) {
          text = "This is before the first backup (" + (form.dataset.firstBackupText || first.toLocaleString()) +
            "): the session will contain no data. Choose a later moment to see backed-up items.";
        } else if (last && moment > last) {
          text = "This is after the last backup: the latest restore point will be used.";
        }
      }
      note.textContent = text;
      note.hidden = !text;
      note.classList.toggle("message-error", refused);
      note.classList.toggle("message-warning", !refused);
    }
    boxes.forEach(function (box) {
      box.querySelectorAll("input, select").forEach(function (field) {
        function switchMode() {
          if (!field.value) { return; }
          radios.forEach(function (r) { r.checked = r.value === box.dataset.pointMode; });
          showChosen();
        }
        field.addEventListener("input", switchMode);
        field.addEventListener("change", switchMode);
      });
    });
    radios.forEach(function (r) { r.addEventListener("change", showChosen); });
    showChosen();
  }

  // The reason's length as the person types, against the limit the server keeps (a line break is sent as
  // two characters). Nothing is cut: a longer text is marked, and the server refuses it with the text kept.
  function countCharacters(field, limit) {
    var count = field.parentElement.querySelector(".help");
    if (!count) {
      count = document.createElement("small");
      count.className = "help";
      field.insertAdjacentElement("afterend", count);
    }
    if (!count.id) { count.id = field.id + "-count"; }
    count.classList.add("char-count");
    var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (described.indexOf(count.id) === -1) { field.setAttribute("aria-describedby", described.concat(count.id).join(" ")); }
    var number = new Intl.NumberFormat();
    function update() {
      var used = Array.from(field.value).length + (field.value.match(/\n/g) || []).length;
      var over = used - limit;
      count.textContent = number.format(used) + " of " + number.format(limit) + " characters" +
        (over > 0 ? ": " + number.format(over) + " too many. Shorten the reason to start." : "");
      count.classList.toggle("is-over", over > 0);
    }
    field.addEventListener("input", update);
    update();
  }

  // A fresh submission key (a version 4 UUID) from the browser's random numbers.
  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // Redraw the element `id` from its partial (data-status-url) every few seconds while its data-state is
  // `busyState`; `onFresh(fresh)` runs after each redraw. The session page while it works, the operations page
  // while a history sync runs.
  function followPartial(id, busyState, onFresh) {
    var timer = window.setInterval(function () {
      var current = document.getElementById(id);
      fetch(current.dataset.statusUrl, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#" + id);
          if (!fresh) { return; }
          current.replaceWith(fresh);
          onFresh(fresh);
          if (fresh.dataset.state !== busyState) { window.clearInterval(timer); }
        })
        .catch(function () { /* keep the last state; try again on the next tick */ });
    }, 3000);
  }

  function followSyncProgress(section) {
    if (section.dataset.state !== "running") { return; }
    followPartial("sync-progress", "running", function () {});
  }

  // A restore, save or export job while it is queued or running (restores/_job_live.html).
  function followJob(live) {
    if (live.dataset.state !== "working") { return; }
    followPartial("job-live", "working", function () {
      labelledTables();
      focusableScrollingTables();
    });
  }

  function followSession(live) {
    if (live.dataset.state !== "working") { return; }
    followPartial("session-live", "working", function (fresh) {
      labelledTables();
      focusableScrollingTables();
      if (fresh.dataset.state !== "working") {
        document.querySelectorAll(".stop-form").forEach(function (f) { f.remove(); });
      }
    });
  }
})();
