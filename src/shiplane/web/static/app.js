// Shiplane web UI: the little JavaScript the pages need (no build step, no inline script).
// - htmx sends the session's CSRF token with every request it makes;
// - the audit event stream (/ui/events) turns into DOM events that htmx elements listen
//   to (hx-trigger="shiplane-env-<name> from:body"), so only affected fragments reload.
(function () {
  "use strict";

  var csrf = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (event) {
    if (csrf) {
      event.detail.headers["X-CSRF-Token"] = csrf.getAttribute("content");
    }
  });

  // The connection state is a polite live region (announced when it changes); the last
  // change is only shown, so a busy pipeline does not talk over the reader.
  function announce(status, text) {
    var state = status.querySelector(".live-state");
    if (state && state.textContent !== text) {
      state.textContent = text;
    }
  }

  function showLast(status, text) {
    var last = status.querySelector(".live-last");
    if (last) {
      last.textContent = text;
    }
  }

  function clock() {
    return new Date().toLocaleTimeString();
  }

  function connect() {
    var status = document.querySelector("[data-live-events]");
    if (!status || !window.EventSource || !window.htmx) {
      return;
    }
    var source = new EventSource(status.getAttribute("data-live-events"));
    source.addEventListener("open", function () {
      announce(status, "Live: this page updates as things change.");
    });
    source.addEventListener("error", function () {
      announce(status, "Live updates interrupted; reconnecting…");
    });
    source.addEventListener("audit", function (message) {
      var event;
      try {
        event = JSON.parse(message.data);
      } catch (ignored) {
        return;
      }
      var scope = event.environment ? "shiplane-env-" + event.environment : "shiplane-env-all";
      document.body.dispatchEvent(new CustomEvent(scope, { detail: event }));
      document.body.dispatchEvent(new CustomEvent("shiplane-audit", { detail: event }));
      status.setAttribute("data-last-seq", String(event.seq));
      showLast(status, "Last change: " + event.action + " at " + clock() + ".");
    });
    window.addEventListener("pagehide", function () {
      source.close();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
})();
