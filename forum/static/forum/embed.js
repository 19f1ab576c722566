/* The discussion of this site, embedded in a page elsewhere (docs/embed.md):
 *   <script src="https://SITE/embed.js" data-page="CANONICAL URL" async></script>
 * It renders into a Shadow DOM after its own tag (the host's styles stay out, ours stay in), reads
 * and writes through the JSON API (/api/v1/, docs/api.md) and keeps a member's short-lived token,
 * given by the sign-in popup, in this tab only. Comments' text is the site's sanitised HTML. */
(function () {
  "use strict";
  var tag = document.currentScript;
  if (!tag) return;
  var site = new URL(tag.src).origin;
  var siteHost = new URL(site).host;
  var canonical = document.querySelector('link[rel="canonical"]');
  var page = tag.getAttribute("data-page") || (canonical && canonical.href) || location.href.split("#")[0];
  var threadId = tag.getAttribute("data-thread") || "";
  var box = document.createElement("div");
  box.className = "forum-discussion";
  tag.parentNode.insertBefore(box, tag.nextSibling);
  var root = box.attachShadow({ mode: "open" });
  var tokenKey = "forum-token:" + site, stateKey = "forum-state:" + site, receiptsKey = "forum-receipts:" + site;
  var token = sessionStorage.getItem(tokenKey) || "";
  var member = null, thread = null, data = null, live = null;

  // The host page may choose (data-theme="light" or "dark"); else the reader's preference decides.
  var DARK = "color-scheme:dark;--fg:#ececec;--muted:#b8bcc4;--bg:#16181b;--line:#50555d;--accent:#8cc4ff;--warn:#ffb3b3";
  if (tag.getAttribute("data-theme")) box.setAttribute("data-theme", tag.getAttribute("data-theme"));
  var CSS =
    ":host{all:initial;display:block;color-scheme:light dark;--fg:#1d1d1f;--muted:#4a4f57;--bg:#fff;--line:#c9cdd3;--accent:#0b57a4;--warn:#8a1c1c;" +
    "font:1rem/1.55 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg)}" +
    "@media (prefers-color-scheme:dark){:host(:not([data-theme=light])){" + DARK + "}}:host([data-theme=dark]){" + DARK + "}" +
    ":host([data-theme=light]){color-scheme:light}" +
    "section{padding:.5rem .75rem}h2{font-size:1.3rem;margin:.5rem 0}h3{font-size:1.05rem;margin:.75rem 0 .25rem}" +
    "a{color:var(--accent)}ol{list-style:none;margin:0;padding:0}li{margin:0 0 1rem;border-inline-start:2px solid var(--line);padding-inline-start:.75rem}" +
    "p{margin:.4rem 0}.comment-meta p{margin:0}.author{font-weight:600}.affiliation,.when,.provenance,.quoting,.competing-interests,.note{color:var(--muted);font-size:.92rem;font-weight:400}" +
    ".badge{font-size:.8rem;border:1px solid var(--line);border-radius:3px;padding:0 .3rem;margin-inline-start:.3rem}" +
    ".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "blockquote{margin:.5rem 0;padding-inline-start:.75rem;border-inline-start:3px solid var(--line);color:var(--muted)}" +
    "pre{overflow:auto}math{font-size:1.05em}img{max-width:100%;height:auto}.orcid img{vertical-align:middle}" +
    "footer.comment-actions{display:flex;gap:.75rem;font-size:.92rem;align-items:center}" +
    "form{display:grid;gap:.5rem;max-width:40rem;margin:.5rem 0 1rem}label{font-weight:600}" +
    "input:not([type=checkbox]),textarea{width:100%;box-sizing:border-box}" +
    "input,textarea{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--muted);border-radius:4px;padding:.4rem}textarea{min-height:8rem}" +
    "button{font:inherit;cursor:pointer;border:1px solid var(--accent);border-radius:4px;padding:.35rem .8rem;background:var(--accent);color:var(--bg)}" +
    "button.secondary,footer button{background:transparent;color:var(--accent)}" +
    ":focus-visible{outline:3px solid var(--accent);outline-offset:2px}" +
    ".alert{color:var(--warn);font-weight:600}.preview{border:1px dashed var(--line);padding:.5rem}.trap{display:none}.check label{font-weight:400}";

  // A constructed style sheet: a host's Content-Security-Policy (style-src) does not apply to it.
  if (root.adoptedStyleSheets && window.CSSStyleSheet && "replaceSync" in CSSStyleSheet.prototype) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.append(el("style", { text: CSS }));
  }

  function el(name, attrs, children) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), attrs[key]);
      else if (attrs[key] !== false && attrs[key] != null) node.setAttribute(key, attrs[key] === true ? "" : attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.append(child); });
    return node;
  }

  function api(path, body) {
    var headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    if (body) headers["Content-Type"] = "application/json";
    return fetch(site + "/api/v1" + path, { method: body ? "POST" : "GET", headers: headers, body: body && JSON.stringify(body), credentials: "omit" })
      .then(function (response) {
        return response.json().then(function (json) { return { status: response.status, data: json }; });
      })
      .then(function (answer) {
        if (answer.status === 401 && token && answer.data.code === "token_invalid") { forget(); show(); }
        return answer;
      });
  }

  function forget() { token = ""; member = null; sessionStorage.removeItem(tokenKey); }

  function take(newToken) {
    token = newToken;
    sessionStorage.setItem(tokenKey, token);
    sessionStorage.removeItem(stateKey);
    return api("/me").then(function (answer) {
      member = answer.status === 200 ? answer.data : null;
      show({ focus: "body", say: member ? "You are signed in as " + member.name + "." : "" });
    });
  }

  // Signing in: the token comes back to this page only with the random state it asked with, so a
  // link or a window of someone else's cannot sign this reader in as another member.
  function state() {
    var value = sessionStorage.getItem(stateKey);
    if (!value) {
      value = Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(16)), function (b) { return (b + 256).toString(16).slice(1); }).join("");
      sessionStorage.setItem(stateKey, value);
    }
    return value;
  }
  function signInAddress() {
    return site + "/embed/signin/?origin=" + encodeURIComponent(location.origin) + "&state=" + state();
  }
  function signIn() {
    if (!window.open(signInAddress(), "forum-signin", "popup,width=560,height=700")) leaveToSignIn();
  }
  function leaveToSignIn() {
    location.href = signInAddress() + "&return=" + encodeURIComponent(location.href.split("#")[0]);
  }

  var given = /(?:^#|&)forum-token=([^&]+)&forum-state=([^&]*)/.exec(location.hash);
  if (given) {
    history.replaceState(null, "", location.href.split("#")[0]);
    if (decodeURIComponent(given[2]) === sessionStorage.getItem(stateKey)) {
      token = decodeURIComponent(given[1]);
      sessionStorage.setItem(tokenKey, token);
      sessionStorage.removeItem(stateKey);
    }
  }

  window.addEventListener("message", function (event) {
    var message = event.data;
    if (event.origin !== site || !message || message.type !== "forum-token") return;
    if (!message.state || message.state !== sessionStorage.getItem(stateKey)) return;
    take(message.token);
  });

  function status(text, alert) {
    return el("p", { role: alert ? "alert" : null, class: alert ? "alert" : "note", text: text });
  }

  function start() {
    var query = "?page=" + encodeURIComponent(page) + (threadId ? "&thread=" + encodeURIComponent(threadId) : "");
    Promise.all([api("/threads" + query), token ? api("/me") : Promise.resolve(null)])
      .then(function (answers) {
        member = answers[1] && answers[1].status === 200 ? answers[1].data : null;
        if (answers[0].status >= 400) throw answers[0].data;
        thread = answers[0].data;
        if (thread.state === "checking") return null;
        var linked = /^#forum-c(\d+)$/.exec(location.hash);
        return linked ? load(1, "&comment=" + linked[1]) : load(1);
      })
      .then(function () { show(); }, function (problem) {
        render([el("h2", { id: "forum-heading", text: "Discussion" }),
          status(problem && problem.message ? problem.message : "The discussion could not be loaded from " + siteHost + ".", true)]);
      });
  }

  // A page of the discussion; after the first, added to those shown ("Show more threads").
  function load(pageNumber, extra) {
    return api("/threads/" + thread.slug + "/comments?page=" + pageNumber + (extra || "")).then(function (answer) {
      if (answer.status !== 200) throw answer.data;
      if (pageNumber > 1 && data && !extra) answer.data.comments = data.comments.concat(answer.data.comments);
      data = answer.data;
    });
  }

  // The pages shown, read again from the first (after a post: nothing shown twice).
  function reload() {
    var upTo = data ? data.page : 1, chain = Promise.resolve();
    data = null;
    for (var number = 1; number <= upTo; number++) chain = chain.then(load.bind(null, number, ""));
    return chain;
  }

  function render(children) {
    live = el("div", { role: "status", class: "note" });
    var section = el("section", { "aria-labelledby": "forum-heading" }, children);
    section.insertBefore(live, section.children[1] || null);
    Array.prototype.slice.call(root.children).forEach(function (child) { if (child.tagName !== "STYLE") child.remove(); });
    root.append(section);
  }

  // Say something to screen readers, in the live region that stays in place.
  function say(text) {
    if (!live || !text) return;
    live.textContent = "";
    setTimeout(function () { live.textContent = text; }, 50);
  }

  // A link to a place in the discussion (a comment's time, a footnote) goes there in the shadow root:
  // the host page's own fragment cannot reach it.
  root.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('a[href^="#"]');
    if (!link) return;
    var id = link.getAttribute("href").slice(1);
    var target = root.getElementById(/^c\d+$/.test(id) ? "forum-" + id : id);
    if (!target) return;
    event.preventDefault();
    target.scrollIntoView();
    if (target.id.indexOf("forum-c") === 0) history.replaceState(null, "", "#" + target.id);
  });

  // Draw the discussion again; then put the focus and the news where the reader needs them.
  function show(after) {
    after = after || {};
    if (!thread) return;
    var heading = el("h2", { id: "forum-heading", text: "Discussion", tabindex: "-1" });
    if (thread.state === "checking") {
      render([heading, status("This discussion opens once " + siteHost + " has checked this page (a few minutes at most). Please come back soon.")]);
      return;
    }
    var parts = [heading, el("p", { class: "note", text: data.count === 1 ? "1 comment" : data.count + " comments" })];
    var list = el("ol", { class: "thread" });
    data.comments.forEach(function (comment) { list.append(item(comment)); });
    parts.push(list);
    if (data.page < data.pages) {
      parts.push(el("button", { type: "button", class: "secondary", text: "Show more threads", onclick: function () {
        var first = data.comments.length;
        load(data.page + 1).then(function () { show({ focusComment: data.comments[first] }); });
      } }));
    }
    parts.push(el("p", { class: "note" }, [
      "The discussion is also on ", el("a", { href: thread.url, text: siteHost }),
      " (", el("a", { href: thread.feed_url, text: "feed" }), ")."
    ]));
    if (thread.state === "open") parts.push(composer(null));
    else parts.push(el("p", { text: "Comments are closed." }));
    render(parts);
    held();
    say(after.say);
    var wanted = /^#forum-(c\d+)$/.exec(location.hash);
    var target = after.focusComment ? root.getElementById("forum-c" + after.focusComment.id) : wanted && root.getElementById("forum-" + wanted[1]);
    if (target) { target.setAttribute("tabindex", "-1"); target.focus(); if (!after.focusComment) target.scrollIntoView(); }
    else if (after.focus === "body") root.querySelector("form textarea").focus();
    else if (after.focus === "heading") heading.focus();
  }

  function item(comment) {
    var li = el("li", { id: "forum-c" + comment.id });
    li.style.marginInlineStart = Math.min(Math.max(comment.depth, 0), 8) * 1.25 + "rem";
    if (comment.note) { li.append(el("p", { class: "note", text: comment.note })); return li; }
    var article = el("div");
    article.innerHTML = comment.rendered; // the site's own rendering: names escaped
    var body = article.querySelector(".comment-body");
    if (body) body.innerHTML = comment.html; // sanitised when it was written
    li.append(article);
    var actions = article.querySelector("footer.comment-actions");
    if (comment.can_reply && actions) {
      actions.prepend(el("button", { type: "button", class: "secondary", "aria-label": "Reply to " + comment.author.name, text: "Reply", "aria-expanded": "false", onclick: function (event) {
        var button = event.currentTarget, open = li.querySelector("form");
        if (open) { open.remove(); button.setAttribute("aria-expanded", "false"); return; }
        button.setAttribute("aria-expanded", "true");
        var form = composer(comment);
        li.append(form);
        form.querySelector("textarea, input:not([type=checkbox])").focus();
      } }));
    }
    return li;
  }

  function field(form, name, label, attrs) {
    var id = "forum-" + name + "-" + form.dataset.key;
    var input = el(attrs.rows ? "textarea" : "input", Object.assign({ id: id, name: name }, attrs));
    return el("p", { class: attrs.type === "checkbox" ? "check" : "" }, attrs.type === "checkbox"
      ? [input, " ", el("label", { for: id, text: label })]
      : [el("label", { for: id, text: label }), el("br"), input]);
  }

  function composer(parent) {
    var draftKey = "forum-draft:" + thread.slug + ":" + (parent ? parent.id : "top");
    var form = el("form", { novalidate: true, "aria-label": parent ? "Reply to " + parent.author.name : "Add a comment" });
    form.dataset.key = parent ? parent.id : "top";
    var start = null;
    form.append(el("h3", { text: parent ? "Reply to " + parent.author.name : "Add a comment" }));
    if (member) {
      form.append(el("p", {}, ["Signed in as ", el("bdi", { text: member.name || "a member" }), ". ",
        el("button", { type: "button", class: "secondary", text: "Sign out here", onclick: function () {
          forget();
          show({ focus: "heading", say: "Signed out on this page." });
        } })]));
    } else {
      form.append(el("p", {}, ["Members of " + siteHost + ": ", el("button", { type: "button", class: "secondary", text: "Sign in", onclick: signIn }),
        " (in a small window) or ", el("button", { type: "button", class: "secondary", text: "sign in by leaving this page", onclick: leaveToSignIn }), "."]));
      form.append(el("p", { text: "Or comment as a guest: we email you one link to publish your comment." }));
      form.append(field(form, "name", "Name", { required: true, maxlength: 100, autocomplete: "name" }));
      form.append(field(form, "affiliation", "Affiliation (optional)", { maxlength: 200, autocomplete: "organization" }));
      form.append(field(form, "email", "Email (never shown)", { type: "email", required: true, maxlength: 254, autocomplete: "email" }));
      form.append(field(form, "notify_replies", "Email me when someone replies", { type: "checkbox" }));
    }
    form.append(field(form, "body", "Your comment (Markdown; $formulas$ in TeX)", { rows: 8, required: true }));
    var interests = field(form, "competing_interests", "Competing interests (optional)", { maxlength: 300 });
    form.append(interests);
    var trap = field(form, "homepage_url", "Leave this field empty", { tabindex: "-1", autocomplete: "off" });
    trap.className = "trap";
    form.append(trap);
    var says = el("div");
    var preview = el("div", { class: "preview", hidden: true, "aria-label": "Preview" });
    form.append(says, preview, el("p", {}, [
      el("button", { type: "button", class: "secondary", text: "Preview", onclick: function () {
        api("/threads/" + thread.slug + "/preview", { body: form.elements.body.value }).then(function (answer) {
          if (answer.status !== 200) return tell(answer.data, true);
          preview.innerHTML = answer.data.html; // sanitised by the site
          preview.hidden = false;
          say("Preview shown below your comment.");
        }, offline);
      } }), " ", el("button", { type: "submit", text: parent ? "Post reply" : "Post comment" })]));
    var text = form.elements.body;
    text.value = localStorage.getItem(draftKey) || "";
    text.addEventListener("input", function () { localStorage.setItem(draftKey, text.value); });
    // The form's key and signed time: asked as it is shown, awaited by a quick first send.
    var starting = api("/threads/" + thread.slug + "/form").then(function (answer) {
      start = answer.data;
      if (start.require_competing_interests) {
        interests.querySelector("label").textContent = "Competing interests (required: write “None” if there are none)";
        form.elements.competing_interests.required = true;
      }
      text.maxLength = start.max_characters;
    });

    function tell(problem, alert) {
      Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (input) { input.removeAttribute("aria-invalid"); });
      says.replaceChildren(status(problem.message, alert));
      Object.keys(problem.fields || {}).forEach(function (name) {
        if (name === "shown_at") { start.shown_at = problem.fields.shown_at[0]; return; }
        var input = form.elements[name];
        if (input && input.labels) {
          input.setAttribute("aria-invalid", "true");
          says.append(status(input.labels[0].textContent + ": " + problem.fields[name].join(" "), true));
        }
      });
    }
    function offline() {
      tell({ message: "We could not reach " + siteHost + ". Your text is kept in this browser: send it again later" +
        (thread.email_address ? ", or mail it to " + thread.email_address : "") + "." }, true);
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      starting.then(send, offline);
    });
    function send() {
      var values = { submission_key: start.submission_key, shown_at: start.shown_at, parent: parent ? parent.id : null };
      Array.prototype.forEach.call(form.elements, function (input) {
        if (input.name) values[input.name] = input.type === "checkbox" ? input.checked : input.value;
      });
      api("/threads/" + thread.slug + "/comments", values).then(function (answer) {
        if (answer.status >= 300) return tell(answer.data, true);
        localStorage.removeItem(draftKey);
        if (answer.data.receipt) keepReceipt(answer.data.receipt);
        var message = answer.data.message;
        return reload().then(function () { show({ focus: "heading", say: message }); });
      }, offline);
    }
    return form;
  }

  // A guest's comments waiting for their email or a moderator: the receipts of this browser's posts.
  function receipts() { return JSON.parse(localStorage.getItem(receiptsKey) || "[]"); }
  function keepReceipt(receipt) { localStorage.setItem(receiptsKey, JSON.stringify(receipts().concat([receipt]).slice(-50))); }

  function held() {
    if (!member && !receipts().length) return;
    api(member ? "/me/held" : "/held?receipts=" + encodeURIComponent(receipts().join(","))).then(function (answer) {
      if (answer.status !== 200) return;
      var mine = answer.data.filter(function (comment) { return comment.thread === thread.slug; });
      if (!mine.length || root.querySelector(".held")) return;
      var list = el("ol", { class: "held" });
      mine.forEach(function (comment) {
        var body = el("div");
        body.innerHTML = comment.html; // sanitised by the site
        list.append(el("li", {}, [el("p", { class: "note", text: comment.state_label }), body]));
      });
      root.querySelector("section h2").after(el("h3", { text: "Your comments not yet published" }), list);
    });
  }

  start();
})();
