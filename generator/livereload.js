/* metric charters: live reload for `charters serve` only; normal builds never load it.
 *
 * The page carries the token of the build it came from (data-build); the server
 * answers /__charters__/version with the newest build's token. When they differ,
 * a rebuild (or a failed one) happened and the page reloads itself.
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

  function poll() {
    window.fetch(endpoint, { cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (token) {
        delay = 300;
        if (token && token.trim() !== shown) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        /* The server is restarting or gone: ask again, less often. */
        delay = Math.min(delay * 2, 5000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
