// Wharf dashboard: live updates. Pages work without this script; with it,
// the server's event stream (/ui/stream) tells the page something changed,
// and the page fetches itself again and swaps in its live parts (the
// elements marked data-live, by id), leaving a part alone while the user
// types in it. No reload, no third-party code.
"use strict";
(function () {
  document.documentElement.classList.add("js");

  // Copy buttons: data-copy names the element whose text they copy.
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-copy]");
    if (!b) return;
    var el = document.getElementById(b.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      b.textContent = "Copied";
      setTimeout(function () { b.textContent = "Copy"; }, 1500);
    });
  });

  // Logs that follow: the stream sends the last lines, then new ones.
  var logs = document.querySelector("[data-follow]");
  if (logs && window.EventSource) {
    var ls = new EventSource(logs.getAttribute("data-follow"));
    ls.addEventListener("open", function () { logs.textContent = ""; });
    ls.addEventListener("line", function (ev) {
      var atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
      logs.appendChild(document.createTextNode(ev.data + "\n"));
      while (logs.childNodes.length > 5000) logs.removeChild(logs.firstChild);
      if (atEnd) logs.scrollTop = logs.scrollHeight;
    });
    ls.addEventListener("end", function () { ls.close(); });
  }

  var stream = document.body.getAttribute("data-stream");
  if (!stream || !window.EventSource || !document.querySelector("[data-live]")) return;
  var filtered = document.querySelector("[data-stream-filter]");
  if (filtered) stream += filtered.getAttribute("data-stream-filter"); // only the events the page shows
  var status = document.getElementById("live-status");
  var pending = false, busy = false;

  function refresh() {
    if (busy) { pending = true; return; }
    busy = true; pending = false;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Wharf-Refresh": "1" } })
      .then(function (r) {
        if (r.redirected || !r.ok) throw new Error("status " + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (old) {
          if (!old.id || old.contains(document.activeElement)) return;
          var fresh = doc.getElementById(old.id);
          if (fresh) old.replaceWith(document.importNode(fresh, true));
        });
        document.body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* the next event tries again */ })
      .finally(function () {
        busy = false;
        if (pending) setTimeout(refresh, 250);
      });
  }

  var timer = null;
  var es = new EventSource(stream);
  es.addEventListener("open", function () { if (status) status.textContent = "Live"; });
  es.addEventListener("error", function () { if (status) status.textContent = "Reconnecting…"; });
  es.addEventListener("signedout", function () { es.close(); location.assign("/ui/login"); });
  es.addEventListener("change", function () {
    // Events come in bursts: refresh once a burst settles.
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
