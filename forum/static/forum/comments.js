/* The comment form, enhanced: inline replies, drafts kept in the browser, inline preview.
 *
 * The pages work without this script, and every part of it steps aside when
 * something fails: a Reply link then opens the reply page, and Preview sends
 * the form to be previewed on the server. No inline scripts or styles (CSP).
 *
 * Drafts: how they are kept and cleared
 * -------------------------------------
 * While someone types, the text of the form (and a guest's name, affiliation,
 * email and website) is saved in localStorage under "forum.draft:" followed by
 * the path of the form's action: "forum.draft:/essays/<slug>/comment/" for a
 * new comment, "forum.draft:/comments/<pk>/reply/" for a reply (the same key
 * on the essay page and on the reply page, so a draft follows the writer).
 * A page whose form has an empty textarea offers the draft back ("Restored
 * your unsent draft", with a Discard button).
 *
 * Posting never deletes the text at once, so a failed or interrupted post
 * cannot lose it:
 *   1. On submit (Post comment, not Preview) the draft is stamped `sentAt`.
 *   2. A successful post redirects to its receipt page, /comments/<pk>/receipt/,
 *      which does not load this script. The next page with a comment form that
 *      is opened from a receipt page (document.referrer: the site's
 *      same-origin referrer policy keeps it) deletes the most recently
 *      stamped draft: it arrived. Once per receipt ("forum.last-receipt"), so
 *      that reloading that page does not take an older stamped draft too.
 *   3. A form that comes back with the text in it (an error, the too-fast
 *      check, a server preview) removes the stamp: the draft is unsent again.
 *      Typing also removes it.
 *   3b. A page that names received submissions (meta "forum-received": the
 *      comments this browser posted as a guest) deletes their drafts, however
 *      the writer arrived there (e.g. the emailed link that publishes a
 *      guest's comment lands on the thread, not on a page from the receipt).
 *   4. Otherwise (a network error, a server error, the writer went elsewhere
 *      from the receipt) the stamped draft is offered back like any other,
 *      with a note that it may have been posted; Discard removes it.
 * Moving the form to a reply (or back) saves the text under the old action
 * and brings back the new one's draft; Cancel keeps a reply's text as its
 * draft. On the essay page, when the new-comment form has no draft, the
 * latest reply draft reopens under its comment.
 * Drafts older than 30 days are dropped. Without localStorage (blocked or
 * full) drafts are kept in memory for the life of the page, so moving the
 * form between replies still loses nothing.
 */
(function () {
  "use strict";

  const PREFIX = "forum.draft:";
  const MAX_AGE_MS = 30 * 24 * 3600 * 1000;
  const PREVIEW_TIMEOUT_MS = 10000;
  const GUEST_FIELDS = ["name", "affiliation", "email", "website"];
  const REPLY_PATH = /^\/comments\/(\d+)\/reply\/$/;
  const RECEIPT_PATH = /^\/comments\/\d+\/receipt\/$/;
  const LAST_RECEIPT = "forum.last-receipt";

  // --- Storage: localStorage when it works, memory always ------------------

  const memory = new Map();
  const storage = (function () {
    try {
      const probe = PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (error) {
      return null;
    }
  })();

  function readDraft(key) {
    // This page's own copy first: it is the newest, even when storage was full.
    let raw = memory.get(key) || null;
    if (!raw && storage) {
      try { raw = storage.getItem(key); } catch (error) { /* none */ }
    }
    if (!raw) return null;
    try {
      const draft = JSON.parse(raw);
      if (!draft || typeof draft.body !== "string" || !draft.body.trim()) return null;
      if (typeof draft.savedAt !== "number" || Date.now() - draft.savedAt > MAX_AGE_MS) {
        removeDraft(key);
        return null;
      }
      if (typeof draft.fields !== "object" || !draft.fields) draft.fields = {};
      return draft;
    } catch (error) {
      return null;
    }
  }

  function writeDraft(key, draft) {
    const raw = JSON.stringify(draft);
    memory.set(key, raw);
    if (storage) {
      try { storage.setItem(key, raw); } catch (error) { /* full or blocked: memory keeps it */ }
    }
  }

  function removeDraft(key) {
    memory.delete(key);
    if (storage) {
      try { storage.removeItem(key); } catch (error) { /* nothing to do */ }
    }
  }

  function draftKeys() {
    const keys = new Set();
    memory.forEach(function (value, key) { keys.add(key); });
    if (storage) {
      try {
        for (let i = 0; i < storage.length; i++) {
          const key = storage.key(i);
          if (key && key.indexOf(PREFIX) === 0) keys.add(key);
        }
      } catch (error) { /* memory only */ }
    }
    return Array.from(keys);
  }

  function pathOf(url) {
    return new URL(url, window.location.href).pathname;
  }

  function keyFor(action) {
    return PREFIX + pathOf(action);
  }

  // Came from a receipt page: the last draft sent arrived. Once per receipt
  // (a reload keeps the referrer, and must not take an older sent draft too).
  function forgetArrivedDraft() {
    let referrer;
    try { referrer = new URL(document.referrer); } catch (error) { return; }
    if (referrer.origin !== window.location.origin || !RECEIPT_PATH.test(referrer.pathname)) return;
    if (storage) {
      try {
        if (storage.getItem(LAST_RECEIPT) === referrer.pathname) return;
        storage.setItem(LAST_RECEIPT, referrer.pathname);
      } catch (error) { /* at worst an older sent draft goes too */ }
    }
    let latest = null;
    let latestAt = 0;
    draftKeys().forEach(function (key) {
      const draft = readDraft(key);
      if (draft && typeof draft.sentAt === "number" && draft.sentAt > latestAt) {
        latest = key;
        latestAt = draft.sentAt;
      }
    });
    if (latest) removeDraft(latest);
  }

  // The page names the submissions this browser has had received (its guest comments, however
  // they were published: the receipt, or the emailed link that lands on the thread): their
  // drafts arrived, whichever page comes next.
  function forgetReceivedDrafts() {
    const meta = document.querySelector('meta[name="forum-received"]');
    if (!meta) return;
    const received = new Set(meta.content.split(/\s+/).filter(Boolean));
    draftKeys().forEach(function (key) {
      const draft = readDraft(key);
      if (draft && draft.submissionKey && received.has(draft.submissionKey)) removeDraft(key);
    });
  }

  // --- Small helpers -------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function button(text, hiddenText) {
    const node = el("button", "link-button", text);
    node.type = "button";
    if (hiddenText) node.appendChild(el("span", "visually-hidden", hiddenText));
    return node;
  }

  // One polite live region for the page, there from the start so that screen readers follow it.
  let announcer = null;
  function makeAnnouncer() {
    if (announcer) return;
    announcer = el("div", "visually-hidden");
    announcer.setAttribute("role", "status");
    announcer.setAttribute("aria-live", "polite");
    document.body.appendChild(announcer);
  }

  function announce(message) {
    makeAnnouncer();
    announcer.textContent = "";
    // A fresh text node a moment later, so the same words are read again.
    window.setTimeout(function () { announcer.textContent = message; }, 60);
  }

  function newSubmissionKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // --- One comment form ----------------------------------------------------

  function CommentForm(form) {
    this.form = form;
    this.body = form.elements.namedItem("body");
    this.key = keyFor(form.getAttribute("action"));
    this.note = null;
    this.restoredFields = [];
    this.submissionKeys = new Map();
    const submissionKey = form.elements.namedItem("submission_key");
    if (submissionKey) this.submissionKeys.set(this.key, submissionKey.value);
  }

  CommentForm.prototype.field = function (name) {
    const field = this.form.elements.namedItem(name);
    return field && field.tagName === "INPUT" ? field : null;
  };

  // sentAt: a time stamps the draft as sent, null unstamps it; left out, the
  // stamp stays while the text is the one that was sent.
  CommentForm.prototype.save = function (sentAt) {
    const text = this.body.value;
    if (!text.trim()) {
      removeDraft(this.key);
      return;
    }
    const draft = { body: text, fields: {}, savedAt: Date.now() };
    GUEST_FIELDS.forEach(function (name) {
      const field = this.field(name);
      if (field && field.value) draft.fields[name] = field.value;
    }, this);
    const submission = this.form.elements.namedItem("submission_key");
    if (sentAt === undefined) {
      const before = readDraft(this.key);
      if (before && before.sentAt && before.body === text) {
        draft.sentAt = before.sentAt;
        draft.submissionKey = before.submissionKey;
      }
    } else if (sentAt) {
      draft.sentAt = sentAt;
      if (submission && submission.value) draft.submissionKey = submission.value;
    }
    writeDraft(this.key, draft);
  };

  // The page has just shown this form: offer the draft back, or keep the text it came with.
  CommentForm.prototype.load = function () {
    if (this.body.value.trim()) {
      this.save(null); // the server gave the text back (an error, a preview): unsent again
      return false;
    }
    const draft = readDraft(this.key);
    if (!draft) return false;
    this.restore(draft);
    return true;
  };

  CommentForm.prototype.restore = function (draft) {
    this.body.value = draft.body;
    this.restoredFields = [];
    GUEST_FIELDS.forEach(function (name) {
      const field = this.field(name);
      const value = draft.fields[name];
      if (field && typeof value === "string" && value && !field.value) {
        field.value = value;
        this.restoredFields.push(field);
      }
    }, this);
    this.showNote(
      draft.sentAt
        ? "Restored your draft. It was sent, but may not have arrived: if it was posted, discard this copy."
        : "Restored your unsent draft."
    );
  };

  CommentForm.prototype.showNote = function (message) {
    this.hideNote();
    const note = el("p", "draft-note", message + " ");
    const discard = button("Discard", " draft");
    discard.addEventListener("click", this.discard.bind(this));
    note.appendChild(discard);
    const place = this.body.closest(".field") || this.body;
    place.parentNode.insertBefore(note, place);
    this.note = note;
  };

  CommentForm.prototype.hideNote = function () {
    if (this.note) this.note.remove();
    this.note = null;
  };

  CommentForm.prototype.discard = function () {
    removeDraft(this.key);
    this.body.value = "";
    this.restoredFields.forEach(function (field) { field.value = ""; });
    this.restoredFields = [];
    this.hideNote();
    this.body.focus();
    announce("Draft discarded.");
  };

  // Point the form at another action (a reply, or back to a new comment).
  // The text so far stays saved under the old action; the new one's draft comes back.
  CommentForm.prototype.switchTo = function (action) {
    const submissionKey = this.form.elements.namedItem("submission_key");
    this.save();
    if (submissionKey) this.submissionKeys.set(this.key, submissionKey.value);
    this.form.setAttribute("action", action);
    this.key = keyFor(action);
    // One key per action, kept for the page: sending the same reply twice
    // still makes one comment, and a reply never reuses the key of another post.
    if (submissionKey) {
      if (!this.submissionKeys.has(this.key)) this.submissionKeys.set(this.key, newSubmissionKey());
      submissionKey.value = this.submissionKeys.get(this.key);
    }
    this.hideNote();
    if (this.preview) this.preview.clear();
    this.body.value = "";
    this.restoredFields = [];
    const draft = readDraft(this.key);
    if (draft) this.restore(draft);
    return Boolean(draft);
  };

  // --- Drafts: saving as people type, stamping on submit --------------------

  function watchDrafts(comment) {
    comment.form.addEventListener("input", function (event) {
      const name = event.target && event.target.name;
      if (name === "body") comment.save(null);
      else if (GUEST_FIELDS.indexOf(name) >= 0) comment.save();
    });
    comment.form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      const submitter = event.submitter;
      if (submitter && submitter.name === "preview") {
        comment.save();
      } else {
        comment.save(Date.now());
      }
    });
    window.addEventListener("pagehide", function () {
      try { comment.save(); } catch (error) { /* leaving anyway */ }
    });
  }

  // --- Preview without leaving the page -------------------------------------

  function InlinePreview(comment) {
    this.comment = comment;
    this.form = comment.form;
    this.url = this.form.getAttribute("data-preview-url");
    this.busy = false;
    this.passThrough = false;
    this.region = el("div", "inline-preview");
    // Not a live region: focus moves to a new preview, and a screen reader reads it once, from there.
    this.region.setAttribute("tabindex", "-1");
    this.form.insertBefore(this.region, this.form.firstChild);
    // A server-rendered preview (compose page) goes stale once this one is shown.
    this.serverPreview = document.querySelector("section.preview");
  }

  InlinePreview.prototype.clear = function () {
    this.region.replaceChildren();
    this.region.classList.remove("shown");
  };

  InlinePreview.prototype.show = function (nodes) {
    const title = el("h3", "inline-preview-title", "Preview");
    const help = el("p", "help", "Not posted yet. Change the text below, or post it.");
    this.region.replaceChildren(title);
    nodes.forEach(function (node) { this.region.appendChild(node); }, this);
    this.region.appendChild(help);
    this.region.classList.add("shown");
    if (this.serverPreview) this.serverPreview.hidden = true;
    // It appears above the button the writer pressed, often above the viewport: bring it into
    // view and move focus to it, so neither eyes nor a screen reader are left at the button.
    this.region.focus({ preventScroll: true });
    this.region.scrollIntoView({ block: "start" });
  };

  // Send the form as it is: the server renders the preview (the page's own way).
  // Later, not now: a form ignores a new submit while its submit event runs.
  InlinePreview.prototype.fallBack = function (submitter) {
    const self = this;
    window.setTimeout(function () {
      self.passThrough = true;
      try {
        if (typeof self.form.requestSubmit === "function") self.form.requestSubmit(submitter);
        else submitter.click();
      } finally {
        self.passThrough = false;
      }
    }, 0);
  };

  InlinePreview.prototype.request = function (submitter) {
    const self = this;
    const text = this.comment.body.value;
    if (!text.trim()) {
      this.show([el("p", "", "Nothing to preview yet: write your comment first.")]);
      return;
    }
    if (this.busy) return;
    const tokenField = this.form.elements.namedItem("csrfmiddlewaretoken");
    const token = tokenField ? tokenField.value : "";
    const data = new FormData();
    data.append("csrfmiddlewaretoken", token);
    data.append("body", text);
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = controller ? window.setTimeout(function () { controller.abort(); }, PREVIEW_TIMEOUT_MS) : null;
    this.busy = true;
    this.region.setAttribute("aria-busy", "true");
    fetch(this.url, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": token },
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        if (!response.ok) throw new Error("Preview failed: " + response.status);
        return response.text();
      })
      .then(function (html) {
        const parsed = new DOMParser().parseFromString(html, "text/html");
        const rendered = parsed.querySelector(".comment-body");
        if (!rendered) throw new Error("Preview failed: no comment body");
        self.show([document.importNode(rendered, true)]);
      })
      .catch(function () {
        self.fallBack(submitter);
      })
      .finally(function () {
        if (timer) window.clearTimeout(timer);
        self.busy = false;
        self.region.removeAttribute("aria-busy");
      });
  };

  function enablePreview(comment) {
    const form = comment.form;
    if (!form.getAttribute("data-preview-url") || !window.fetch || !window.FormData || !window.DOMParser) return;
    const preview = new InlinePreview(comment);
    comment.preview = preview;
    form.addEventListener("submit", function (event) {
      const submitter = event.submitter;
      if (preview.passThrough || !submitter || submitter.name !== "preview") return;
      event.preventDefault();
      try {
        preview.request(submitter);
      } catch (error) {
        preview.fallBack(submitter);
      }
    });
  }

  // --- Inline replies --------------------------------------------------------

  function authorName(article) {
    const byId = article.getAttribute("aria-labelledby");
    const author = (byId && document.getElementById(byId)) || article.querySelector(".author");
    const name = author && author.querySelector(".name, a");
    return ((name || author || {}).textContent || "").trim() || "this comment";
  }

  function enableInlineReplies(comment) {
    const form = comment.form;
    const homeAction = form.getAttribute("action");
    const home = el("p", "reply-elsewhere");
    home.hidden = true;
    home.appendChild(document.createTextNode("The comment form is open under the comment you are replying to. "));
    const instead = button("Write a new comment instead");
    home.appendChild(instead);
    form.parentNode.insertBefore(home, form);
    let open = null; // {path, link, box, name}

    function close(focusAfter) {
      if (!open) return;
      const was = open;
      open = null;
      comment.switchTo(homeAction);
      home.after(form);
      home.hidden = true;
      was.box.remove();
      if (focusAfter === "link" && was.link.isConnected) was.link.focus();
      else if (focusAfter === "form") comment.body.focus();
    }

    function openReply(link, path, options) {
      const article = link.closest("article.comment");
      if (!article || !article.parentNode) throw new Error("Reply link outside a comment");
      if (open && open.path === path) {
        if (options.focus) comment.body.focus();
        return;
      }
      const name = authorName(article);
      const box = el("div", "inline-reply");
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", "Reply to " + name);
      const head = el("p", "replying-to-note", "Replying to ");
      head.appendChild(el("strong", "", name));
      head.appendChild(document.createTextNode(" "));
      const cancel = button("Cancel", " reply to " + name);
      head.appendChild(cancel);
      box.appendChild(head);

      const previous = open;
      open = null;
      const restored = comment.switchTo(path);
      try {
        article.after(box);
        box.appendChild(form);
      } catch (error) {
        // Put everything back as it was, then let the link do its work.
        box.remove();
        comment.switchTo(previous ? previous.path : homeAction);
        (previous ? previous.box : home).after(form);
        open = previous;
        throw error;
      }
      if (previous) previous.box.remove();
      home.hidden = false;
      open = { path: path, link: link, box: box, name: name };
      cancel.addEventListener("click", function () {
        close("link");
        announce("Reply cancelled." + (readDraft(keyFor(path)) ? " Your text is kept as a draft." : ""));
      });
      if (options.focus) {
        comment.body.focus();
        announce("Reply form open under the comment by " + name + "." + (restored ? " Your unsent draft is restored." : ""));
      }
    }

    instead.addEventListener("click", function () {
      close("form");
      announce("The comment form is back, for a new comment.");
    });

    document.addEventListener("click", function (event) {
      if (event.defaultPrevented || event.button !== 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab or window
      const link = event.target instanceof Element ? event.target.closest(".comment-actions a[href]") : null;
      if (!link) return;
      let url;
      try { url = new URL(link.href); } catch (error) { return; }
      if (url.origin !== window.location.origin || !REPLY_PATH.test(url.pathname)) return;
      try {
        openReply(link, url.pathname, { focus: true });
      } catch (error) {
        return; // the link goes to the reply page
      }
      event.preventDefault();
    });

    // A reply begun before a reload opens again where it was (when the main form has no draft).
    return function reopenReplyDraft() {
      let best = null;
      let bestAt = 0;
      document.querySelectorAll(".comment-actions a[href]").forEach(function (link) {
        let path;
        try { path = new URL(link.href).pathname; } catch (error) { return; }
        if (!REPLY_PATH.test(path)) return;
        const draft = readDraft(keyFor(path));
        if (draft && draft.savedAt > bestAt) {
          best = { link: link, path: path };
          bestAt = draft.savedAt;
        }
      });
      if (best) {
        try { openReply(best.link, best.path, { focus: false }); } catch (error) { /* the drafts stay saved */ }
      }
    };
  }

  // --- Start -----------------------------------------------------------------

  function start() {
    try { forgetArrivedDraft(); } catch (error) { /* drafts stay */ }
    try { forgetReceivedDrafts(); } catch (error) { /* drafts stay */ }
    try { draftKeys().forEach(readDraft); } catch (error) { /* reading drops drafts past their age */ }
    document.querySelectorAll("form[data-comment-form]").forEach(function (form) {
      const body = form.elements.namedItem("body");
      if (!body || body.tagName !== "TEXTAREA") return;
      const comment = new CommentForm(form);
      makeAnnouncer();
      try { enablePreview(comment); } catch (error) { /* the server previews */ }
      try { watchDrafts(comment); } catch (error) { /* no drafts */ }
      let reopen = null;
      if (form.closest("[data-inline-replies]")) {
        try { reopen = enableInlineReplies(comment); } catch (error) { /* the links go to the reply page */ }
      }
      let restored = false;
      try { restored = comment.load(); } catch (error) { /* nothing restored */ }
      if (!restored && reopen && !comment.body.value.trim()) reopen();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
