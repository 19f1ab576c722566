/* Quoting an essay: select words in one of its passages and a button offers to quote them in a comment.
 *
 * Without this script each paragraph's "Comment on this passage" link opens the comment form with the
 * whole passage quoted. With it, the words selected go into the essay page's comment form as a Markdown
 * quotation, with the passage's anchor and the revision of the text (the form's hidden fields), so the
 * comment links back to them. The button goes right after the passage, so that Tab reaches it next;
 * Escape hides it. No inline scripts or styles (CSP): its place is set through the CSSOM.
 */
(function () {
  "use strict";

  const essay = document.querySelector(".essay-body");
  const form = document.querySelector("form.comment-form");
  if (!essay || !form || !form.elements.body || !form.elements.quoted_passage) return;

  const button = document.createElement("button");
  button.type = "button";
  button.className = "quote-selection";
  button.textContent = "Quote in a comment";
  button.hidden = true;
  let chosen = null; // {text, anchor}

  function passageOf(node) {
    const element = node && (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement);
    const passage = element && element.closest("[id^='p-']");
    return passage && passage.parentElement === essay ? passage : null;
  }

  function hide() {
    chosen = null;
    button.hidden = true;
  }

  function offer() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return hide();
    const range = selection.getRangeAt(0);
    const passage = passageOf(range.startContainer);
    const text = selection.toString().replace(/[^\S\n]+/g, " ").trim(); // no-break spaces too
    if (!passage || !text || !essay.contains(range.endContainer)) return hide();
    chosen = { text: text, anchor: passage.id };
    if (button.previousElementSibling !== passage) passage.after(button);
    const box = range.getBoundingClientRect();
    button.style.top = `${window.scrollY + box.bottom + 6}px`;
    button.style.left = `${window.scrollX + Math.max(box.left, 8)}px`;
    button.hidden = false;
  }

  document.addEventListener("selectionchange", () => window.requestAnimationFrame(offer));
  button.addEventListener("mousedown", (event) => event.preventDefault()); // keep the selection
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !button.hidden) hide();
  });

  button.addEventListener("click", () => {
    if (!chosen) return;
    const textarea = form.elements.body;
    const quotation = chosen.text.split(/\n+/).map((line) => `> ${line.trim()}`).join("\n") + "\n\n";
    textarea.value = quotation + textarea.value;
    form.elements.quoted_passage.value = chosen.anchor;
    form.elements.quoted_version.value = essay.dataset.textVersion || "";
    textarea.dispatchEvent(new Event("input", { bubbles: true })); // the draft keeps it (comments.js)
    hide();
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    textarea.scrollIntoView({ block: "center" });
  });
})();
