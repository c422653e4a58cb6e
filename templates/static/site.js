/* metric charters: search, filters and sorting of the portfolio.
 *
 * The index is the data-* attributes of each portfolio row (written by the
 * generator), so this works from a page opened from disk as well as from a
 * server: nothing is fetched. The state lives in the URL (query string, or the
 * hash where the query cannot be changed, as on file:// pages) so a filtered
 * view can be shared. Without JavaScript the form stays hidden and the page is
 * the full table grouped by status.
 */

/* Every page: on a phone, wide tables of metrics become one card per row. Each cell
 * then needs its column's name, copied here from the header; without JavaScript
 * the tables keep their columns and scroll sideways. */
(function () {
  "use strict";

  Array.prototype.forEach.call(document.querySelectorAll("table.metrics"), function (table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        Array.prototype.forEach.call(row.cells, function (cell, index) {
          var th = headers[index];
          if (cell.tagName === "TD" && th) {
            cell.setAttribute("data-label", th.textContent.replace(/\s+/g, " ").trim());
          }
        });
      });
    });
    table.classList.add("cards");
  });
})();

/* The portfolio: search, filters and sorting. */
(function () {
  "use strict";

  var form = document.getElementById("finder");
  if (!form) {
    return;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-search]"));
  var tables = Array.prototype.slice.call(document.querySelectorAll("table.portfolio"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section.group"));
  var statusLine = document.getElementById("finder-count");
  var empty = document.getElementById("finder-empty");
  var query = form.elements.namedItem("q");
  var sortSelect = form.elements.namedItem("sort");
  var FILTERS = ["status", "team", "tag", "verdict"];
  var KEYS = ["q"].concat(FILTERS, ["sort"]);
  var original = new Map();
  var sortLabels = {};

  rows.forEach(function (row, index) {
    original.set(row, index);
  });

  /* Lower case without accents; the generator folds data-search the same way. */
  function fold(text) {
    return String(text || "")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase();
  }

  function words(text) {
    return fold(text).split(/\s+/).filter(Boolean);
  }

  function slug(text) {
    return fold(text).replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  }

  function tagsOf(row) {
    try {
      var tags = JSON.parse(row.getAttribute("data-tags") || "[]");
      return Array.isArray(tags) ? tags : [];
    } catch (error) {
      return [];
    }
  }

  function field(name) {
    var element = form.elements.namedItem(name);
    return element && "value" in element ? element : null;
  }

  /* ---- state <-> URL ------------------------------------------------------ */

  function readState() {
    var params = new URLSearchParams(window.location.search);
    var hasQuery = KEYS.some(function (key) { return params.has(key); });
    var hash = window.location.hash.replace(/^#/, "");
    if (!hasQuery && hash.indexOf("=") !== -1) {
      params = new URLSearchParams(hash);
    }
    var state = {};
    KEYS.forEach(function (key) {
      state[key] = params.get(key) || "";
    });
    return state;
  }

  function currentState() {
    var state = {};
    KEYS.forEach(function (key) {
      var element = field(key);
      state[key] = element ? element.value.trim() : "";
    });
    return state;
  }

  function stateString(state) {
    var params = new URLSearchParams();
    KEYS.forEach(function (key) {
      if (state[key]) {
        params.set(key, state[key]);
      }
    });
    return params.toString();
  }

  function writeState(state) {
    var text = stateString(state);
    var base = window.location.pathname;
    var stateHash = window.location.hash.indexOf("=") !== -1;
    var keepHash = stateHash ? "" : window.location.hash;
    try {
      window.history.replaceState(null, "", base + (text ? "?" + text : "") + keepHash);
    } catch (error) {
      /* Some browsers refuse to change a file:// URL's query; the hash always works. */
      if (text || stateHash) {
        window.location.replace("#" + text);
      }
    }
  }

  function applyState(state) {
    KEYS.forEach(function (key) {
      var element = field(key);
      if (!element) {
        return;
      }
      if (element.tagName === "SELECT") {
        var known = Array.prototype.some.call(element.options, function (option) {
          return option.value === state[key];
        });
        element.value = known ? state[key] : "";
      } else {
        element.value = state[key];
      }
    });
  }

  /* ---- filtering ---------------------------------------------------------- */

  function matches(row, state, terms) {
    var text = row.getAttribute("data-search") || "";
    for (var i = 0; i < terms.length; i += 1) {
      if (text.indexOf(terms[i]) === -1) {
        return false;
      }
    }
    if (state.status && row.getAttribute("data-status") !== state.status) {
      return false;
    }
    if (state.team && row.getAttribute("data-team") !== state.team) {
      return false;
    }
    if (state.tag && tagsOf(row).indexOf(state.tag) === -1) {
      return false;
    }
    if (state.verdict && row.getAttribute("data-verdict") !== state.verdict) {
      return false;
    }
    return true;
  }

  function filter(state) {
    var terms = words(state.q);
    var shown = 0;
    rows.forEach(function (row) {
      var ok = matches(row, state, terms);
      row.hidden = !ok;
      if (ok) {
        shown += 1;
      }
    });
    groups.forEach(function (group) {
      group.hidden = !group.querySelector("tr[data-search]:not([hidden])");
    });
    var total = rows.length;
    var filtered = KEYS.some(function (key) { return key !== "sort" && state[key]; });
    statusLine.textContent = filtered
      ? "Showing " + shown + " of " + total + " project" + (total === 1 ? "" : "s") + "."
      : "Showing all " + total + " project" + (total === 1 ? "" : "s") + ".";
    empty.hidden = shown !== 0;
  }

  /* ---- sorting ------------------------------------------------------------ */

  function sortValue(row, key) {
    var value = row.getAttribute("data-sort-" + key);
    if (value !== null) {
      return value;
    }
    var table = row.closest("table");
    var headers = table ? table.querySelectorAll("thead th") : [];
    for (var i = 0; i < headers.length; i += 1) {
      if (headers[i].getAttribute("data-sort") === key && row.cells[i]) {
        return fold(row.cells[i].textContent).trim();
      }
    }
    return "";
  }

  function compare(a, b) {
    var na = Number(a);
    var nb = Number(b);
    if (a !== "" && b !== "" && !isNaN(na) && !isNaN(nb)) {
      return na - nb;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function sort(state) {
    var descending = state.sort.charAt(0) === "-";
    var key = state.sort.replace(/^-/, "");
    tables.forEach(function (table) {
      var body = table.tBodies[0];
      if (!body) {
        return;
      }
      var members = Array.prototype.slice.call(body.rows).filter(function (row) {
        return row.hasAttribute("data-search");
      });
      members.sort(function (a, b) {
        if (key) {
          var va = sortValue(a, key);
          var vb = sortValue(b, key);
          if (va === "" && vb !== "") {
            return 1; /* missing values last, whatever the direction */
          }
          if (vb === "" && va !== "") {
            return -1;
          }
          var order = compare(va, vb);
          if (order !== 0) {
            return descending ? -order : order;
          }
        }
        return original.get(a) - original.get(b);
      });
      /* Move rows only when the order changes: moving the row under the pointer
         between mousedown and click would swallow the click on its link. */
      var current = Array.prototype.slice.call(body.rows).filter(function (row) {
        return row.hasAttribute("data-search");
      });
      var same = members.every(function (row, i) { return current[i] === row; });
      if (!same) {
        members.forEach(function (row) {
          body.appendChild(row);
        });
      }
      Array.prototype.forEach.call(table.querySelectorAll("thead th[data-sort]"), function (th) {
        if (key && th.getAttribute("data-sort") === key) {
          th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        } else {
          th.removeAttribute("aria-sort");
        }
      });
    });
  }

  /* A header's own words, without its small print (`.sub`). */
  function headerLabel(th) {
    var text = "";
    Array.prototype.forEach.call(th.childNodes, function (node) {
      if (node.nodeType === 3 || (node.nodeType === 1 && !node.classList.contains("sub"))) {
        text += node.textContent;
      }
    });
    return text.replace(/\s+/g, " ").trim();
  }

  /* On a phone the table becomes cards; each cell then shows its column's name. */
  function labelCells(table, index, label) {
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var cell = row.cells[index];
        if (cell && cell.tagName === "TD") {
          cell.setAttribute("data-label", label);
        }
      });
    });
  }

  /* Buttons in the column headers; only with JavaScript, since only then can they sort. */
  function setUpSortButtons() {
    var seen = {};
    tables.forEach(function (table) {
      Array.prototype.forEach.call(table.querySelectorAll("thead th"), function (th) {
        var label = headerLabel(th);
        var key = th.getAttribute("data-sort") || slug(label);
        if (!key) {
          return;
        }
        th.setAttribute("data-sort", key);
        var button = document.createElement("button");
        button.type = "button";
        button.className = "sort-button";
        button.setAttribute("data-sort-key", key);
        while (th.firstChild) {
          button.appendChild(th.firstChild);
        }
        var icon = document.createElement("span");
        icon.className = "sort-icon";
        icon.setAttribute("aria-hidden", "true");
        button.appendChild(icon);
        th.appendChild(button);
        labelCells(table, th.cellIndex, label);
        if (!seen[key]) {
          seen[key] = true;
          sortLabels[key] = label;
        }
      });
    });
    Object.keys(sortLabels).forEach(function (key) {
      [["", "ascending"], ["-", "descending"]].forEach(function (pair) {
        var option = document.createElement("option");
        option.value = pair[0] + key;
        option.textContent = sortLabels[key] + " (" + pair[1] + ")";
        sortSelect.appendChild(option);
      });
    });
  }

  /* ---- wiring ------------------------------------------------------------- */

  var shown = null;

  function update(write) {
    var state = currentState();
    var key = stateString(state);
    if (key === shown) {
      return; /* `input` and `change` both fire for one edit */
    }
    shown = key;
    filter(state);
    sort(state);
    if (write) {
      writeState(state);
    }
  }

  function clearAll() {
    /* The fields are cleared once reset() returns: update at once, so the table
       and the URL change in the same turn as the click. */
    form.reset();
    update(true);
  }

  setUpSortButtons();

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    update(true);
  });
  form.addEventListener("input", function () { update(true); });
  form.addEventListener("change", function () { update(true); });
  form.addEventListener("reset", function () {
    window.setTimeout(function () { update(true); }, 0);
  });
  query.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && query.value) {
      query.value = "";
      update(true);
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var button = target ? target.closest(".sort-button") : null;
    if (button) {
      var key = button.getAttribute("data-sort-key");
      var current = sortSelect.value;
      sortSelect.value = current === key ? "-" + key : current === "-" + key ? "" : key;
      update(true);
      return;
    }
    if (target && target.closest("[data-finder-clear]")) {
      clearAll();
      query.focus();
    }
  });
  window.addEventListener("hashchange", function () {
    if (window.location.hash.indexOf("=") !== -1) {
      applyState(readState());
      update(false);
    }
  });

  applyState(readState());
  update(false);
  form.hidden = false;
})();
