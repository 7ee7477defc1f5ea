/* Item actions on the session page: a checkbox per explorer entry, an "Actions…" button, and the action dialog
 * (a native <dialog>: Escape closes it, focus stays inside while it is open and returns to the button after).
 * The dialog's form posts like any page form (restores/views.py job_new); only the chosen action's fields are
 * shown, and only the actions that accept the selected kinds are offered. The same script enhances the form's
 * page of its own (job_new.html), where no explorer exists. */
(function () {
  "use strict";
  var form = document.getElementById("job-form");
  if (!form) { return; }
  var dialog = document.getElementById("job-dialog");
  var openButton = document.getElementById("explorer-actions-open");
  var clearButton = document.getElementById("explorer-selection-clear");
  var selectedText = document.getElementById("explorer-selected");
  var selectionText = document.getElementById("job-dialog-selection");
  var KIND_NAMES = {mailbox: "mailbox", folder: "folder", item: "item", drive: "OneDrive", document: "document",
    site: "site", library: "library", list: "list", team: "team", channel: "channel", post: "post", file: "file",
    tab: "tab", attachment: "attachment", version: "version"};

  var selected = new Map();   // node id -> {id, name, kind}, kept while the person moves through the tree

  // -- the selection (explorer rows) ---------------------------------------------------------------------------

  if (dialog) {
    window.explorerHooks = window.explorerHooks || {};
    window.explorerHooks.nameCell = function (entry, cell) {
      var box = document.createElement("input");
      box.type = "checkbox";
      box.className = "explorer-select";
      box.checked = selected.has(entry.id);
      box.setAttribute("aria-label", "Select " + (KIND_NAMES[entry.kind] || entry.kind) + " " + entry.name);
      box.addEventListener("change", function () {
        if (box.checked) { selected.set(entry.id, {id: entry.id, name: entry.name, kind: entry.kind}); }
        else { selected.delete(entry.id); }
        showSelection();
      });
      cell.appendChild(box);
    };
    openButton.addEventListener("click", openDialog);
    clearButton.addEventListener("click", function () {
      selected.clear();
      document.querySelectorAll(".explorer-select").forEach(function (box) { box.checked = false; });
      showSelection();
    });
    document.getElementById("job-dialog-cancel").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { openButton.focus(); });
    showSelection();
  }

  function describe(entries) {
    if (!entries.length) { return "No entries selected."; }
    var kinds = {};
    entries.forEach(function (each) { kinds[each.kind] = (kinds[each.kind] || 0) + 1; });
    var parts = Object.keys(kinds).map(function (kind) {
      var name = KIND_NAMES[kind] || kind;
      return kinds[kind] + " " + name + (kinds[kind] === 1 ? "" : (name.slice(-1) === "x" ? "es" : "s"));
    });
    return parts.join(", ") + " selected" + (entries.length === 1 ? ": " + entries[0].name : "") + ".";
  }

  function showSelection() {
    var entries = Array.from(selected.values());
    selectedText.textContent = describe(entries);
    openButton.disabled = !entries.length;
    clearButton.hidden = !entries.length;
  }

  function openDialog() {
    var entries = Array.from(selected.values());
    form.querySelectorAll("input[name=nodes]").forEach(function (input) { input.remove(); });
    entries.forEach(function (entry) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "nodes";
      input.value = entry.id;
      form.appendChild(input);
    });
    selectionText.textContent = describe(entries);
    offerActions(entries);
    dialog.showModal();
    var first = form.querySelector("input[name=action]:not([disabled]):checked") ||
      form.querySelector("input[name=action]:not([disabled])");
    if (first) { first.focus(); }
  }

  // -- which actions, and which of their fields --------------------------------------------------------------

  function offerActions(entries) {
    var kinds = entries.map(function (each) { return each.kind; });
    var offered = 0;
    form.querySelectorAll("[data-action]").forEach(function (label) {
      var accepts = (label.dataset.nodeKinds || "").split(" ");
      var fits = kinds.every(function (kind) { return accepts.indexOf(kind) >= 0; }) &&
        (!label.dataset.single || entries.length === 1);
      var radio = label.querySelector("input");
      label.hidden = !fits;
      radio.disabled = !fits;
      if (!fits && radio.checked) { radio.checked = false; }
      if (fits) { offered += 1; }
    });
    var none = form.querySelector(".job-no-action");
    if (none) { none.hidden = offered > 0; }
    if (offered === 1) { form.querySelector("[data-action]:not([hidden]) input").checked = true; }
    showFields();
  }

  function chosenAction() {
    var radio = form.querySelector("input[name=action]:checked");
    return radio ? radio.value : "";
  }

  function showFields() {
    var action = chosenAction();
    form.querySelectorAll("[data-for]").forEach(function (box) {
      var shown = !!action && box.dataset.for.split(" ").indexOf(action) >= 0;
      box.hidden = !shown;
      box.querySelectorAll("input, select, textarea").forEach(function (field) { field.disabled = !shown; });
    });
    form.querySelectorAll(".job-for-hint").forEach(function (hint) { hint.hidden = true; });
    showCredential();
  }

  function showCredential() {
    var radio = form.querySelector("input[name=credential_kind]:checked");
    var kind = radio ? radio.value : "";
    form.querySelectorAll("[data-credential]").forEach(function (box) {
      var shown = box.dataset.credential === kind && !box.closest("[data-for][hidden]");
      box.hidden = !shown;
      box.querySelectorAll("input").forEach(function (field) { field.disabled = !shown; });
    });
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "action") { showFields(); }
    if (event.target.name === "credential_kind") { showCredential(); }
  });

  // -- the device code: asked from the API, shown in place (without scripts the form asks for it) -------------

  var codeButton = document.getElementById("job-device-code-button");
  if (codeButton) {
    codeButton.addEventListener("click", function (event) {
      event.preventDefault();
      var result = document.getElementById("job-device-code-result");
      var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      codeButton.disabled = true;
      result.textContent = "Asking VB365 for a code…";
      fetch(codeButton.dataset.url, {method: "POST", credentials: "same-origin",
        headers: {"Accept": "application/json", "X-CSRFToken": token}})
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            if (!response.ok) { throw new Error(body.message || ("The server answered " + response.status + ".")); }
            return body;
          });
        })
        .then(function (code) {
          result.textContent = "";
          result.append("Open ");
          var link = document.createElement("a");
          link.href = code.verification_url;
          link.target = "_blank";
          link.rel = "noopener";
          link.textContent = code.verification_url;
          result.append(link, ", enter the code ");
          var strong = document.createElement("strong");
          strong.className = "device-code";
          strong.textContent = code.user_code;
          result.append(strong, " and sign in with an account that may restore; then start the job. The code " +
            "expires in " + Math.round(code.expires_in / 60) + " minutes.");
          var field = form.querySelector("input[name=user_code]");
          if (field) { field.value = code.user_code; }
          codeButton.textContent = "Get another code";
        })
        .catch(function (error) { result.textContent = error.message; })
        .then(function () { codeButton.disabled = false; });
    });
  }

  if (!dialog) { showFields(); }
})();
