/* The backup explorer on a session page: a tree and a list over the browse API (same-origin, session cookie).
 * Each level is loaded when opened; pages follow the API's next/previous links; search stays within the
 * open mailbox, drive, site, team or folder. Keyboard: the tree follows the ARIA tree pattern (arrows,
 * Home/End, Enter), the list is made of buttons. */
(function () {
  "use strict";
  var root = document.getElementById("explorer");
  if (!root) { return; }
  var api = root.getAttribute("data-api");
  var tree = document.getElementById("explorer-tree");
  var crumbs = document.getElementById("explorer-crumbs");
  var list = document.querySelector("#explorer-list tbody");
  var caption = document.getElementById("explorer-caption");
  var statusLine = document.getElementById("explorer-status");
  var errorLine = document.getElementById("explorer-error");
  var previousButton = document.getElementById("explorer-previous");
  var nextButton = document.getElementById("explorer-next");
  var searchForm = document.getElementById("explorer-search");
  var searchInput = document.getElementById("explorer-q");
  var searchLabel = document.getElementById("explorer-q-label");
  var searchClear = document.getElementById("explorer-search-clear");
  var details = document.getElementById("explorer-details");
  var detailsTitle = document.getElementById("explorer-details-title");
  var detailsFacts = document.getElementById("explorer-details-facts");
  var SEARCHABLE = ["mailbox", "folder", "drive", "site", "library", "list", "team", "channel"];
  var KIND_NAMES = {mailbox: "Mailbox", folder: "Folder", item: "Item", drive: "OneDrive", document: "Document",
    site: "Site", library: "Library", list: "List", team: "Team", channel: "Channel", post: "Post", file: "File",
    tab: "Tab", attachment: "Attachment", version: "Version"};

  var path = [];          // [{id, name, kind}] from the top level to the open node
  var page = null;        // the last page shown
  var searching = "";     // the query shown, or ""
  var firstEntry = 0;     // position of the page's first entry (for "Entries 51-100")

  function fetchJson(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = new Error(body.message || ("The server answered " + response.status + "."));
          error.status = response.status;
          throw error;
        }
        return body;
      });
    });
  }

  function url(tail, params) {
    var query = Object.keys(params).filter(function (key) { return params[key]; }).map(function (key) {
      return encodeURIComponent(key) + "=" + encodeURIComponent(params[key]);
    }).join("&");
    return api + tail + (query ? "?" + query : "");
  }

  function showError(error) {
    errorLine.textContent = error ? error.message : "";
    errorLine.hidden = !error;
    statusLine.textContent = "";
  }

  function size(bytes) {
    if (bytes === undefined || bytes === null) { return ""; }
    var units = ["B", "KB", "MB", "GB", "TB"];
    var number = bytes;
    for (var i = 0; i < units.length; i++) {
      if (number < 1024 || i === units.length - 1) { return i === 0 ? number + " B" : number.toFixed(1) + " " + units[i]; }
      number /= 1024;
    }
    return String(bytes);
  }

  function when(text) {
    if (!text) { return ""; }
    var moment = new Date(text);
    return isNaN(moment.getTime()) ? text : moment.toLocaleString();
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // -- the list ----------------------------------------------------------------------------------------------

  function current() { return path.length ? path[path.length - 1] : null; }

  function load(requestUrl, offset) {
    showError(null);
    statusLine.textContent = "Loading…";
    list.setAttribute("aria-busy", "true");
    return fetchJson(requestUrl).then(function (body) {
      page = body;
      firstEntry = offset;
      render();
      return body;
    }).catch(showError).then(function (body) {
      list.removeAttribute("aria-busy");
      return body;
    });
  }

  function openNode(target, options) {
    var index = path.findIndex(function (each) { return each.id === target.id; });
    if (index >= 0) { path = path.slice(0, index + 1); } else if (!options || !options.replacePath) { path.push(target); }
    if (options && options.replacePath) { path = options.replacePath; }
    searching = "";
    searchInput.value = "";
    renderCrumbs();
    return load(url("", {node: target.id}), 0);
  }

  function openTop() {
    path = [];
    searching = "";
    renderCrumbs();
    return load(url("", {}), 0).then(function (body) {
      if (body && !tree.children.length) { fillTree(tree, body.results, 1); }
    });
  }

  function render() {
    list.innerHTML = "";
    var here = current();
    caption.textContent = searching ? "Results for “" + searching + "” in " + here.name : (here ? here.name : "Top level");
    if (!page.results.length) {
      var row = element("tr");
      row.appendChild(element("td", {colspan: "5", "class": "empty"}, searching ? "Nothing found." : "This is empty."));
      list.appendChild(row);
    }
    page.results.forEach(function (entry) {
      var row = element("tr", {"data-kind": entry.kind});
      var nameCell = element("td");
      // Item actions (restores/jobs.js) put a selection checkbox before the name, when the person may act.
      if (window.explorerHooks && window.explorerHooks.nameCell) { window.explorerHooks.nameCell(entry, nameCell); }
      if (entry.has_children) {
        var open = element("button", {type: "button", "class": "link explorer-open",
          "aria-label": "Open " + (KIND_NAMES[entry.kind] || entry.kind).toLowerCase() + " " + entry.name}, entry.name);
        open.addEventListener("click", function () { openNode({id: entry.id, name: entry.name, kind: entry.kind}); });
        nameCell.appendChild(open);
      } else {
        nameCell.appendChild(element("span", {}, entry.name));
      }
      var attached = entry.details && Array.isArray(entry.details.attachments) ? entry.details.attachments.length : 0;
      if (attached) {
        nameCell.appendChild(element("span", {"class": "muted explorer-attached"}, " · " + attached + (attached === 1 ? " attachment" : " attachments")));
      }
      row.appendChild(nameCell);
      row.appendChild(element("td", {}, KIND_NAMES[entry.kind] || entry.kind));
      row.appendChild(element("td", {"class": "num"}, size(entry.size_bytes)));
      row.appendChild(element("td", {}, when(entry.modified)));
      var actions = element("td");
      var more = element("button", {type: "button", "class": "explorer-details-button",
        "aria-label": "Details of " + entry.name}, "Details");
      more.addEventListener("click", function () { showDetails(entry, more); });
      actions.appendChild(more);
      row.appendChild(actions);
      list.appendChild(row);
    });
    var last = firstEntry + page.results.length;
    statusLine.textContent = page.results.length ? "Entries " + (firstEntry + 1) + "–" + last + (page.next ? " (more on the next page)" : "") : "";
    previousButton.disabled = !page.previous;
    nextButton.disabled = !page.next;
    var searchable = here && SEARCHABLE.indexOf(here.kind) >= 0;
    searchForm.hidden = !searchable;
    if (searchable) { searchLabel.textContent = "Search in " + here.name; }
    searchClear.hidden = !searching;
  }

  function renderCrumbs() {
    crumbs.innerHTML = "";
    var top = element("li");
    var topButton = element("button", {type: "button", "class": "link"}, "All " + root.getAttribute("data-workload") + " contents");
    topButton.addEventListener("click", openTop);
    top.appendChild(topButton);
    crumbs.appendChild(top);
    path.forEach(function (each, index) {
      var item = element("li");
      if (index === path.length - 1) {
        item.appendChild(element("span", {"aria-current": "location"}, each.name));
      } else {
        var button = element("button", {type: "button", "class": "link"}, each.name);
        button.addEventListener("click", function () { openNode(each); });
        item.appendChild(button);
      }
      crumbs.appendChild(item);
    });
  }

  previousButton.addEventListener("click", function () {
    if (page && page.previous) { load(page.previous, Math.max(0, firstEntry - pageSize())); }
  });
  nextButton.addEventListener("click", function () {
    if (page && page.next) { load(page.next, firstEntry + page.results.length); }
  });

  function pageSize() { return page ? Math.max(page.results.length, 50) : 50; }

  searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var here = current();
    var text = searchInput.value.trim();
    if (!here || !text) { return; }
    searching = text;
    load(url("search/", {node: here.id, q: text}), 0);
  });
  searchClear.addEventListener("click", function () {
    var here = current();
    if (here) { openNode(here); }
  });

  // -- details -----------------------------------------------------------------------------------------------

  var detailsOpener = null;

  function showDetails(entry, opener) {
    detailsOpener = opener;
    showError(null);
    fetchJson(url("node/", {node: entry.id})).then(function (full) {
      detailsTitle.textContent = full.name;
      detailsFacts.innerHTML = "";
      fact("Kind", KIND_NAMES[full.kind] || full.kind);
      if (full.size_bytes !== undefined) { fact("Size", size(full.size_bytes)); }
      if (full.modified) { fact("Modified", when(full.modified)); }
      var fields = full.details || {};
      Object.keys(fields).forEach(function (key) { fact(label(key), fields[key], key); });
      details.hidden = false;
      details.focus();
    }).catch(showError);
  }

  function label(key) {
    var text = key.replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function fact(name, value, key) {
    if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) { return; }
    detailsFacts.appendChild(element("dt", {}, name));
    var cell = element("dd");
    if (Array.isArray(value)) {
      var items = element("ul", {"class": "explorer-values"});
      value.forEach(function (each) {
        if (each && typeof each === "object") {
          var words = [each.name || each.long_file_name || "", each.size_bytes !== undefined ? "(" + size(each.size_bytes) + ")" : "",
            each.modified ? when(each.modified) : "", each.modified_by || ""].filter(Boolean);
          items.appendChild(element("li", {}, words.join(" ")));
        } else {
          items.appendChild(element("li", {}, String(each)));
        }
      });
      cell.appendChild(items);
    } else if (typeof value === "object") {
      cell.textContent = JSON.stringify(value);
    } else if (typeof value === "boolean") {
      cell.textContent = value ? "Yes" : "No";
    } else if (/(time|date|sent|received|modified|posted_on)$/.test(key || "") && typeof value === "string") {
      cell.textContent = when(value);
    } else if (/size_bytes$/.test(key || "")) {
      cell.textContent = size(value);
    } else {
      cell.textContent = String(value);
    }
    detailsFacts.appendChild(cell);
  }

  document.getElementById("explorer-details-close").addEventListener("click", function () {
    details.hidden = true;
    if (detailsOpener && document.body.contains(detailsOpener)) { detailsOpener.focus(); }
  });

  // -- the tree (containers only, each level loaded when expanded) --------------------------------------------

  function fillTree(container, entries, level) {
    entries.filter(function (entry) { return entry.has_children; }).forEach(function (entry) {
      var item = element("li", {role: "treeitem", "aria-expanded": "false", "aria-level": String(level),
        tabindex: tree.querySelector("[tabindex='0']") ? "-1" : "0", "data-id": entry.id, "data-kind": entry.kind});
      item.appendChild(element("span", {"class": "explorer-tree-label"}, entry.name));
      item._entry = {id: entry.id, name: entry.name, kind: entry.kind};
      item._level = level;
      container.appendChild(item);
    });
  }

  function treePath(item) {
    var trail = [];
    for (var node = item; node && node !== tree; node = node.parentElement) {
      if (node._entry) { trail.unshift(node._entry); }
    }
    return trail;
  }

  function expand(item) {
    if (item.getAttribute("aria-expanded") === "true") { return Promise.resolve(); }
    item.setAttribute("aria-expanded", "true");
    if (item._loaded) { item.querySelector("[role=group]").hidden = false; return Promise.resolve(); }
    item._loaded = true;
    var group = element("ul", {role: "group"});
    item.appendChild(group);
    return fetchJson(url("", {node: item._entry.id, limit: "200"})).then(function (body) {
      fillTree(group, body.results, item._level + 1);
      if (!group.children.length) { item.removeAttribute("aria-expanded"); }
    }).catch(showError);
  }

  function collapse(item) {
    if (item.getAttribute("aria-expanded") !== "true") { return; }
    item.setAttribute("aria-expanded", "false");
    var group = item.querySelector("[role=group]");
    if (group) { group.hidden = true; }
  }

  function visibleItems() {
    return Array.prototype.filter.call(tree.querySelectorAll("[role=treeitem]"), function (item) {
      return !item.closest("[role=group][hidden]");
    });
  }

  function focusItem(item) {
    tree.querySelectorAll("[role=treeitem]").forEach(function (each) { each.setAttribute("tabindex", "-1"); });
    item.setAttribute("tabindex", "0");
    item.focus();
  }

  function activate(item) {
    focusItem(item);
    tree.querySelectorAll("[aria-selected]").forEach(function (each) { each.removeAttribute("aria-selected"); });
    item.setAttribute("aria-selected", "true");
    openNode(item._entry, {replacePath: treePath(item)});
    expand(item);
  }

  tree.addEventListener("click", function (event) {
    var item = event.target.closest("[role=treeitem]");
    if (!item) { return; }
    event.stopPropagation();
    if (item.getAttribute("aria-expanded") === "true" && item.getAttribute("aria-selected") === "true") {
      collapse(item);
    } else {
      activate(item);
    }
  });

  tree.addEventListener("keydown", function (event) {
    var item = event.target.closest("[role=treeitem]");
    if (!item) { return; }
    var items = visibleItems();
    var index = items.indexOf(item);
    var handled = true;
    switch (event.key) {
      case "ArrowDown": if (index < items.length - 1) { focusItem(items[index + 1]); } break;
      case "ArrowUp": if (index > 0) { focusItem(items[index - 1]); } break;
      case "Home": focusItem(items[0]); break;
      case "End": focusItem(items[items.length - 1]); break;
      case "ArrowRight":
        if (item.getAttribute("aria-expanded") === "true") {
          var child = item.querySelector("[role=treeitem]");
          if (child) { focusItem(child); }
        } else { expand(item); }
        break;
      case "ArrowLeft":
        if (item.getAttribute("aria-expanded") === "true") { collapse(item); } else {
          var parent = item.parentElement.closest("[role=treeitem]");
          if (parent) { focusItem(parent); }
        }
        break;
      case "Enter": case " ": activate(item); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  openTop();
})();
