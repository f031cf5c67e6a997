// tenantgate console: small enhancements over pages that work without them.
// - form[data-confirm]: asks before an action is sent.
// - tbody[data-tail]: while "Live" is on, the first page of a list refreshes every few seconds in
//   place (new rows marked), without moving the reader's place or filters.
// - button[data-copy]: copies the text of the element it names.
// - "/" focuses the search field.
"use strict";
(function () {
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  });

  document.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = "Copied";
      });
    }
  });

  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var search = document.querySelector("input[type=search]");
    if (search) { e.preventDefault(); search.focus(); }
  });

  var body = document.querySelector("tbody[data-tail]");
  var toggle = document.getElementById("live");
  if (!body || !toggle) return;
  var seen = function () {
    var ids = {};
    body.querySelectorAll("tr[data-id]").forEach(function (row) { ids[row.getAttribute("data-id")] = true; });
    return ids;
  };
  var refresh = function () {
    // Not while hidden, and not under the keyboard: replacing the rows would drop the focus.
    if (!toggle.checked || document.hidden || body.contains(document.activeElement)) return;
    var before = seen();
    fetch(body.getAttribute("data-tail"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      // A session that ended answers with the sign-in page: stop, and leave the rows as they are.
      .then(function (r) {
        if (r.redirected || !r.ok) { toggle.checked = false; return null; }
        return r.text();
      })
      .then(function (html) {
        if (html === null) return;
        // New rows come in at the top: a reader scrolled down the list stays on the same rows.
        var height = body.offsetHeight;
        var below = body.getBoundingClientRect().top < 0;
        body.innerHTML = html;
        if (below) window.scrollBy(0, body.offsetHeight - height);
        body.querySelectorAll("tr[data-id]").forEach(function (row) {
          if (!before[row.getAttribute("data-id")]) row.classList.add("fresh");
        });
      })
      .catch(function () {});
  };
  setInterval(refresh, 5000);
})();
