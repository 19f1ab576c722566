// Keyboard shortcuts for the moderators' queue. The page works without them.
(function () {
  "use strict";
  const items = Array.from(document.querySelectorAll("[data-item]"));
  const form = document.getElementById("bulk-form");
  if (!items.length || !form) return;
  let current = -1;

  function focusItem(index) {
    if (index < 0 || index >= items.length) return;
    if (current >= 0) items[current].classList.remove("current");
    current = index;
    items[current].classList.add("current");
    items[current].querySelector("input[type=checkbox]").focus();
    items[current].scrollIntoView({ block: "nearest" });
  }

  function apply(decision) {
    const ticked = form.querySelectorAll("input[name=ids]:checked");
    if (!ticked.length && current >= 0) items[current].querySelector("input[type=checkbox]").checked = true;
    form.querySelector("select[name=decision]").value = decision;
    form.requestSubmit();
  }

  document.addEventListener("keydown", function (event) {
    const typing = event.target.closest("input[type=text], textarea, select");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    switch (event.key) {
      case "j": focusItem(current + 1); break;
      case "k": focusItem(Math.max(current - 1, 0)); break;
      case "x": if (current >= 0) { const box = items[current].querySelector("input[type=checkbox]"); box.checked = !box.checked; } break;
      case "o": if (current >= 0) items[current].querySelector("[data-open]").click(); break;
      case "a": apply("approve"); break;
      case "s": apply("spam"); break;
      default: return;
    }
    event.preventDefault();
  });
})();
