/* metric charters: live reload for `charters serve` only; normal builds never load it.
 *
 * The page carries the token of the build it came from (data-build); the server
 * answers /__charters__/version with the newest build's token. When they differ,
 * a rebuild (or a failed one) happened and the page reloads itself.
 *
 * Asked with ?after=<token>, the server holds its answer until a build ends (or
 * for at most 25 s), so a save shows as soon as it is built. One tab of the
 * browser asks that way, the one holding the lock "charters-livereload", and
 * tells the others through a BroadcastChannel: a held request in every open tab
 * would take all six of the connections a browser opens to one server, and
 * stall the next page. Without locks or channels, each tab asks every 300 ms.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !window.fetch) {
    return;
  }
  var shown = script.getAttribute("data-build") || "";
  var endpoint = new URL("version", script.src).href;
  var delay = 300;

  /* Reload when `token` names another build than this page's; whether it did. */
  function newer(token) {
    if (token && token !== shown) {
      window.location.reload();
      return true;
    }
    return false;
  }

  function ask(after) {
    var url = after === null ? endpoint : endpoint + "?after=" + encodeURIComponent(after);
    return window.fetch(url, { cache: "no-store" }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.text();
    }).then(function (text) {
      return text.trim();
    });
  }

  /* The server is restarting or gone: ask again, less often. */
  function later(again) {
    delay = Math.min(delay * 2, 5000);
    window.setTimeout(again, delay);
  }

  function poll() {
    ask(null).then(function (token) {
      delay = 300;
      if (!newer(token)) {
        window.setTimeout(poll, delay);
      }
    }, function () {
      later(poll);
    });
  }

  /* Holds the lock for as long as the page lives: the promise never settles, and the
   * browser releases the lock when the page goes (a reload included). */
  function lead(channel) {
    return new Promise(function () {
      function wait() {
        ask(shown).then(function (token) {
          delay = 300;
          if (token && token !== shown) {
            channel.postMessage(token);
            newer(token);
          } else {
            wait();
          }
        }, function () {
          later(wait);
        });
      }
      wait();
    });
  }

  if (window.BroadcastChannel && navigator.locks && navigator.locks.request) {
    var channel = new BroadcastChannel("charters-livereload");
    channel.onmessage = function (event) {
      newer(String(event.data));
    };
    /* A build may have ended between this page being sent and this script listening,
     * its news told to the other tabs before this one heard: ask once now. */
    ask(null).then(newer, function () {});
    /* A page shown again from the back-forward cache may have missed a build. */
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        ask(null).then(newer, function () {});
      }
    });
    navigator.locks.request("charters-livereload", function () {
      return lead(channel);
    });
    return;
  }
  window.setTimeout(poll, delay);
})();
