/* Vigil's small progressive enhancements; every page reads fine without them.
   - <time data-local>: the UTC text is replaced by the viewer's local date and time.
   - <time data-relative>: keeps "3 min ago"; its hover title becomes the local time.
   - [data-copy]: buttons (hidden until this runs) copy the text of the element whose id
     the attribute names, and say "Copied".
   - [data-clear]: buttons empty the element whose id the attribute names (a log shown in place).
   - input[data-viewer-zone] gets the browser's IANA time zone, and [data-viewer-zone-name]
     says it, so times typed in a form mean the viewer's local time.
   - SVG <text data-time>: a chart's UTC axis label becomes the viewer's local time or date.
   Re-applied to content htmx swaps in (htmx:load). */
(function () {
  "use strict";

  var exact = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
  });
  var short = new Intl.DateTimeFormat(undefined, {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var moment = new Date(el.getAttribute("datetime"));
      if (isNaN(moment.getTime())) return;
      if (el.hasAttribute("data-relative")) {
        el.title = exact.format(moment);
      } else if (el.hasAttribute("data-local")) {
        el.title = el.title || el.textContent;
        el.textContent = (el.dataset.local === "short" ? short : exact).format(moment);
      }
    });
  }

  // The clipboard API exists only on https and localhost; elsewhere select and copy.
  function copyText(source) {
    var text = source.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var copied = document.execCommand("copy");
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copyButtons(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      if (button.dataset.copyReady) return;
      button.dataset.copyReady = "1";
      var label = button.innerHTML;  // may hold a visually hidden name
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        if (!source) return;
        copyText(source).then(function () {
          button.textContent = "Copied";
        }, function () {
          button.textContent = "Press Ctrl+C";
        }).then(function () {
          setTimeout(function () { button.innerHTML = label; }, 1500);
        });
      });
    });
  }

  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  var axisTime = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  var axisDate = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

  function viewerZone(root) {
    if (!zone) return;
    root.querySelectorAll("input[data-viewer-zone]").forEach(function (input) { input.value = zone; });
    root.querySelectorAll("[data-viewer-zone-name]").forEach(function (el) { el.textContent = zone; });
    root.querySelectorAll("text[data-time]").forEach(function (el) {
      var moment = new Date(el.getAttribute("data-time"));
      if (isNaN(moment.getTime())) return;
      el.textContent = (el.getAttribute("data-style") === "date" ? axisDate : axisTime).format(moment);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-clear]");
    if (!button) return;
    var target = document.getElementById(button.getAttribute("data-clear"));
    if (target) target.replaceChildren();
  });

  // Signing out: a poll answered after the session ended redirects to the sign-in page with
  // `next` set to this page (monitors.access.signed_in); it must not overtake the sign-out's
  // own navigation, so no poll starts or lands once the sign-out form is sent.
  var signingOut = false;
  document.addEventListener("submit", function (event) {
    if (event.target.matches("[data-signs-out]")) signingOut = true;
  });
  ["htmx:beforeRequest", "htmx:beforeOnLoad"].forEach(function (name) {
    document.addEventListener(name, function (event) { if (signingOut) event.preventDefault(); });
  });
  // Back to this page from the browser's cache: it is signed-in again as far as it knows.
  window.addEventListener("pageshow", function () { signingOut = false; });

  function enhance(root) {
    localTimes(root);
    copyButtons(root);
    viewerZone(root);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  // Every element htmx brings in, out-of-band swaps included.
  document.addEventListener("htmx:load", function (event) { enhance(event.detail.elt); });
})();
