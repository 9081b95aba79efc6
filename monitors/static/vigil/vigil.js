/* Vigil's small progressive enhancements; every page reads fine without them.
   - <time data-local>: the UTC text is replaced by the viewer's local date and time.
   - <time data-relative>: keeps "3 min ago"; its hover title becomes the local time.
   - [data-copy]: buttons (hidden until this runs) copy the text of the element whose id
     the attribute names, and say "Copied".
   Re-applied to content htmx swaps in. */
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
      var label = button.textContent;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        if (!source) return;
        copyText(source).then(function () {
          button.textContent = "Copied";
        }, function () {
          button.textContent = "Press Ctrl+C";
        }).then(function () {
          setTimeout(function () { button.textContent = label; }, 1500);
        });
      });
    });
  }

  function enhance(root) {
    localTimes(root);
    copyButtons(root);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (event) {
    enhance(event.detail.elt.parentNode || document);
  });
})();
