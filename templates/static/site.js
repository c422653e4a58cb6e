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

/* Every page: a table or chart wider than its box scrolls sideways, and a keyboard
 * reaches it only if the box takes focus. Each box that scrolls becomes a focusable
 * region named by its heading; one that fits (a wide window, a closed data table) is
 * no tab stop. Without JavaScript the charts' boxes stay focusable. */
(function () {
  "use strict";

  var boxes = document.querySelectorAll(".table-scroll, .chart-frame");
  function nameOf(box) {
    var scope = box.closest("details, section");
    var heading = scope && scope.querySelector("summary, h2, h3");
    var text = heading ? heading.textContent.replace(/\s+/g, " ").trim() : "Table";
    return text + " (scrolls sideways)";
  }
  function update() {
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        if (!box.hasAttribute("role")) {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", nameOf(box));
        }
      } else {
        box.removeAttribute("tabindex");
      }
    });
  }
  update();
  window.addEventListener("resize", update);
  Array.prototype.forEach.call(document.querySelectorAll("details"), function (details) {
    details.addEventListener("toggle", update);
  });
})();

/* The portfolio: search, filters, count toggles, grouping and sorting.
 *
 * The state (q, status, team, tag, verdict, alert, sort, group) lives in the URL: a
 * discrete change (a filter, a sort, a count toggled, grouping) adds a history
 * entry, so back and forward step through views; typing in the search box
 * replaces the entry it started. Where the query cannot be changed (file://
 * pages in some browsers) the hash holds the same parameters.
 */
(function () {
  "use strict";

  var form = document.getElementById("finder");
  if (!form) {
    return;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-search]"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section.group"));
  var tables = Array.prototype.slice.call(document.querySelectorAll("table.portfolio"));
  var statusLine = document.getElementById("finder-count");
  var empty = document.getElementById("finder-empty");
  var query = form.elements.namedItem("q");
  var sortSelect = form.elements.namedItem("sort");
  var groupButton = document.getElementById("finder-group");
  var FILTERS = ["status", "team", "tag", "verdict", "alert"];
  var KEYS = ["q"].concat(FILTERS, ["sort", "group"]);
  var original = new Map();
  var homeBody = new Map();
  var flat = null; /* the section of the ungrouped table, made on first use */
  var countButtons = [];

  rows.forEach(function (row, index) {
    original.set(row, index);
    homeBody.set(row, row.parentNode);
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

  /* A JSON list a row carries: its tags (data-tags), its alerts (data-alerts). */
  function listOf(row, name) {
    try {
      var items = JSON.parse(row.getAttribute(name) || "[]");
      return Array.isArray(items) ? items : [];
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
    state.group = groupButton.getAttribute("aria-pressed") === "false" ? "off" : "";
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

  /* `push`: a new history entry (back returns to the view before); else replace it. */
  function writeState(state, push) {
    var text = stateString(state);
    var base = window.location.pathname;
    var stateHash = window.location.hash.indexOf("=") !== -1;
    var keepHash = stateHash ? "" : window.location.hash;
    var url = base + (text ? "?" + text : "") + keepHash;
    if (url === base + window.location.search + window.location.hash) {
      return;
    }
    try {
      if (push) {
        window.history.pushState(null, "", url);
      } else {
        window.history.replaceState(null, "", url);
      }
    } catch (error) {
      /* Some browsers refuse to change a file:// URL's query; the hash always works. */
      if (text || stateHash) {
        if (push) {
          window.location.hash = text;
        } else {
          window.location.replace("#" + text);
        }
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
    groupButton.setAttribute("aria-pressed", state.group === "off" ? "false" : "true");
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
    if (state.tag && listOf(row, "data-tags").indexOf(state.tag) === -1) {
      return false;
    }
    if (state.verdict && row.getAttribute("data-verdict") !== state.verdict) {
      return false;
    }
    if (state.alert && listOf(row, "data-alerts").indexOf(state.alert) === -1) {
      return false;
    }
    return true;
  }

  /* What the filters say, for the announced count: "verdict Business impact". */
  function describeFilters(state) {
    var parts = [];
    if (state.q) {
      parts.push("search \u201c" + state.q + "\u201d");
    }
    FILTERS.forEach(function (key) {
      var element = field(key);
      if (state[key] && element && element.tagName === "SELECT") {
        parts.push(key + " " + element.options[element.selectedIndex].textContent);
      }
    });
    return parts.join(", ");
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
    var grouped = state.group !== "off";
    groups.forEach(function (group) {
      group.hidden = !grouped || !group.querySelector("tr[data-search]:not([hidden])");
    });
    if (flat) {
      flat.hidden = grouped || shown === 0;
    }
    var total = rows.length;
    var plural = " project" + (total === 1 ? "" : "s");
    var filters = describeFilters(state);
    statusLine.textContent = filters
      ? "Showing " + shown + " of " + total + plural + " (" + filters + ")."
      : "Showing all " + total + plural + ".";
    empty.hidden = shown !== 0;
    countButtons.forEach(function (button) {
      var key = button.getAttribute("data-filter");
      var on = state[key] === button.getAttribute("data-value");
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  /* ---- grouping ----------------------------------------------------------- */

  /* One table of every project, for sorting across status groups: its head is a
     copy of the first group's (sort buttons included). */
  function makeFlat() {
    var section = document.createElement("section");
    section.className = "group-all";
    section.setAttribute("aria-labelledby", "all-projects");
    var heading = document.createElement("h2");
    heading.id = "all-projects";
    heading.textContent = "All projects";
    section.appendChild(heading);
    var scroll = document.createElement("div");
    scroll.className = "table-scroll";
    var table = document.createElement("table");
    table.className = "portfolio";
    table.appendChild(tables[0].tHead.cloneNode(true));
    table.appendChild(document.createElement("tbody"));
    scroll.appendChild(table);
    section.appendChild(scroll);
    groups[groups.length - 1].parentNode.insertBefore(section, groups[0]);
    tables.push(table);
    return section;
  }

  function regroup(state) {
    var grouped = state.group !== "off";
    if (!grouped && !flat) {
      flat = makeFlat();
    }
    var flatBody = flat ? flat.querySelector("tbody") : null;
    rows.forEach(function (row) {
      var home = grouped ? homeBody.get(row) : flatBody;
      if (row.parentNode !== home) {
        home.appendChild(row);
      }
    });
  }

  /* ---- sorting ------------------------------------------------------------ */

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
      var members = Array.prototype.slice.call(body.rows);
      var sorted = members.slice().sort(function (a, b) {
        if (key) {
          var va = a.getAttribute("data-sort-" + key) || "";
          var vb = b.getAttribute("data-sort-" + key) || "";
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
      var same = sorted.every(function (row, i) { return members[i] === row; });
      if (!same) {
        sorted.forEach(function (row) {
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

  /* ---- buttons ------------------------------------------------------------ */

  /* Buttons in the column headers; only with JavaScript, since only then can they sort. */
  function setUpSortButtons() {
    tables.forEach(function (table) {
      Array.prototype.forEach.call(table.querySelectorAll("thead th[data-sort]"), function (th) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "sort-button";
        button.setAttribute("data-sort-key", th.getAttribute("data-sort"));
        while (th.firstChild) {
          button.appendChild(th.firstChild);
        }
        var icon = document.createElement("span");
        icon.className = "sort-icon";
        icon.setAttribute("aria-hidden", "true");
        button.appendChild(icon);
        th.appendChild(button);
      });
    });
  }

  /* The counts by status, verdict and alert become toggles: pressed, the table shows only
     those projects; pressed again, all of them. Without JavaScript they stay text
     (a status count is then a link to its group). */
  function setUpCountButtons() {
    Array.prototype.forEach.call(document.querySelectorAll(".count-filter"), function (el) {
      var key = el.getAttribute("data-filter");
      if (!field(key)) {
        return;
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "count-filter";
      button.setAttribute("data-filter", key);
      button.setAttribute("data-value", el.getAttribute("data-value"));
      button.setAttribute("aria-pressed", "false");
      while (el.firstChild) {
        button.appendChild(el.firstChild);
      }
      el.parentNode.replaceChild(button, el);
      countButtons.push(button);
    });
  }

  /* ---- wiring ------------------------------------------------------------- */

  var shown = null;
  var typing = false; /* the current history entry was made by the search box */

  function update(write, push) {
    var state = currentState();
    var key = stateString(state);
    if (key === shown) {
      return; /* `input` and `change` both fire for one edit */
    }
    shown = key;
    regroup(state);
    filter(state);
    sort(state);
    if (write) {
      writeState(state, push);
    }
  }

  /* A discrete change: a new history entry. */
  function commit() {
    typing = false;
    update(true, true);
  }

  function clearAll() {
    /* The fields are cleared once reset() returns: update at once, so the table
       and the URL change in the same turn as the click. */
    form.reset();
    groupButton.setAttribute("aria-pressed", "true");
    commit();
  }

  setUpSortButtons();
  setUpCountButtons();

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    commit();
  });
  query.addEventListener("input", function () {
    update(true, !typing); /* one history entry per search, not per key */
    typing = true;
  });
  form.addEventListener("change", function (event) {
    if (event.target !== query) {
      commit();
    }
  });
  form.addEventListener("reset", function () {
    window.setTimeout(function () {
      groupButton.setAttribute("aria-pressed", "true");
      commit();
    }, 0);
  });
  query.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && query.value) {
      query.value = "";
      commit();
    }
  });
  groupButton.addEventListener("click", function () {
    var pressed = groupButton.getAttribute("aria-pressed") !== "false";
    groupButton.setAttribute("aria-pressed", pressed ? "false" : "true");
    commit();
  });
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var button = target ? target.closest(".sort-button") : null;
    if (button) {
      var key = button.getAttribute("data-sort-key");
      var current = sortSelect.value;
      sortSelect.value = current === key ? "-" + key : current === "-" + key ? "" : key;
      commit();
      return;
    }
    var count = target ? target.closest("button.count-filter") : null;
    if (count) {
      var select = field(count.getAttribute("data-filter"));
      var value = count.getAttribute("data-value");
      select.value = select.value === value ? "" : value;
      commit();
      return;
    }
    if (target && target.closest("[data-finder-clear]")) {
      clearAll();
      query.focus();
    }
  });
  function restore() {
    applyState(readState());
    typing = false;
    update(false, false);
  }
  window.addEventListener("popstate", restore);
  window.addEventListener("hashchange", function () {
    if (window.location.hash.indexOf("=") !== -1 || window.location.hash === "") {
      restore();
    }
  });

  applyState(readState());
  update(false, false);
  form.hidden = false;
})();
