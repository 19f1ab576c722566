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
  var canonical = document.querySelector('link[rel="canonical"]');
  var page = tag.getAttribute("data-page") || (canonical && canonical.href) || location.href.split("#")[0];
  var threadId = tag.getAttribute("data-thread") || "";
  var box = document.createElement("div");
  box.className = "forum-discussion";
  tag.parentNode.insertBefore(box, tag.nextSibling);
  var root = box.attachShadow({ mode: "open" });
  var tokenKey = "forum-token:" + site;
  var token = sessionStorage.getItem(tokenKey) || "";
  var member = null, thread = null, data = null, opened = null;

  var CSS =
    ":host{all:initial;display:block;color-scheme:light dark;--fg:#1d1d1f;--muted:#4a4f57;--bg:#fff;--line:#c9cdd3;--accent:#0b57a4;--warn:#8a1c1c;" +
    "font:1rem/1.55 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg)}" +
    "@media (prefers-color-scheme:dark){:host{--fg:#ececec;--muted:#b8bcc4;--bg:#16181b;--line:#50555d;--accent:#8cc4ff;--warn:#ffb3b3}}" +
    "section{padding:.5rem .75rem}h2{font-size:1.3rem;margin:.5rem 0}h3{font-size:1.05rem;margin:.75rem 0 .25rem}" +
    "a{color:var(--accent)}ol{list-style:none;margin:0;padding:0}li{margin:0 0 1rem;border-inline-start:2px solid var(--line);padding-inline-start:.75rem}" +
    "p{margin:.4rem 0}.comment-meta p{margin:0}.author{font-weight:600}.affiliation,.when,.provenance,.quoting,.competing-interests,.note{color:var(--muted);font-size:.92rem;font-weight:400}" +
    ".badge{font-size:.8rem;border:1px solid var(--line);border-radius:3px;padding:0 .3rem;margin-inline-start:.3rem}" +
    ".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "blockquote{margin:.5rem 0;padding-inline-start:.75rem;border-inline-start:3px solid var(--line);color:var(--muted)}" +
    "pre{overflow:auto}math{font-size:1.05em}img{max-width:100%;height:auto}.orcid img{vertical-align:middle}" +
    "footer.comment-actions{display:flex;gap:.75rem;font-size:.92rem}" +
    "form{display:grid;gap:.5rem;max-width:40rem;margin:.5rem 0 1rem}label{font-weight:600}" +
    "input:not([type=checkbox]),textarea{width:100%;box-sizing:border-box}input,textarea{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--muted);border-radius:4px;padding:.4rem}textarea{min-height:8rem}" +
    "button{font:inherit;cursor:pointer;border:1px solid var(--accent);border-radius:4px;padding:.35rem .8rem;background:var(--accent);color:var(--bg)}" +
    "button.secondary,footer button{background:transparent;color:var(--accent)}" +
    ":focus-visible{outline:3px solid var(--accent);outline-offset:2px}" +
    ".alert{color:var(--warn);font-weight:600}.preview{border:1px dashed var(--line);padding:.5rem}.trap{display:none}.check label{font-weight:400}";

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
        if (answer.status === 401 && token && answer.data.code === "token_invalid") forget();
        return answer;
      });
  }

  function forget() { token = ""; member = null; sessionStorage.removeItem(tokenKey); }

  function take(newToken) {
    token = newToken;
    sessionStorage.setItem(tokenKey, token);
    return api("/me").then(function (answer) { member = answer.status === 200 ? answer.data : null; show(); });
  }

  // Back from signing in by leaving the page: the token in this page's fragment.
  var given = /(?:^#|&)forum-token=([^&]+)/.exec(location.hash);
  if (given) {
    token = decodeURIComponent(given[1]);
    sessionStorage.setItem(tokenKey, token);
    history.replaceState(null, "", location.href.split("#")[0]);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== site || !event.data || event.data.type !== "forum-token") return;
    take(event.data.token);
  });

  function signIn() {
    var address = site + "/embed/signin/?origin=" + encodeURIComponent(location.origin);
    var popup = window.open(address, "forum-signin", "popup,width=560,height=700");
    if (!popup) location.href = address + "&return=" + encodeURIComponent(location.href.split("#")[0]);
  }

  function status(text, alert) {
    return el("p", { role: alert ? "alert" : "status", class: alert ? "alert" : "note", text: text });
  }

  function start() {
    var query = "?page=" + encodeURIComponent(page) + (threadId ? "&thread=" + encodeURIComponent(threadId) : "");
    Promise.all([api("/threads" + query), token ? api("/me") : Promise.resolve(null)])
      .then(function (answers) {
        member = answers[1] && answers[1].status === 200 ? answers[1].data : null;
        if (answers[0].status >= 400) throw answers[0].data;
        thread = answers[0].data;
        return thread.state === "checking" ? null : load(1);
      })
      .then(show, function (problem) {
        render([status(problem && problem.message ? problem.message : "The discussion could not be loaded from " + site + ".", true)]);
      });
  }

  function load(pageNumber) {
    return api("/threads/" + thread.slug + "/comments?page=" + pageNumber).then(function (answer) {
      if (answer.status !== 200) throw answer.data;
      if (pageNumber > 1 && data) answer.data.comments = data.comments.concat(answer.data.comments);
      data = answer.data;
    });
  }

  function render(children) {
    root.replaceChildren(el("style", { text: CSS }), el("section", { "aria-labelledby": "forum-heading" }, children));
  }

  function show() {
    if (!thread) return;
    var heading = el("h2", { id: "forum-heading", text: "Discussion" });
    if (thread.state === "checking") {
      render([heading, status("This discussion opens once " + site + " has checked this page (a minute or so). Please come back soon.")]);
      return;
    }
    var parts = [heading, el("p", { class: "note", text: data.count === 1 ? "1 comment" : data.count + " comments" })];
    var list = el("ol", { class: "thread" });
    data.comments.forEach(function (comment) { list.append(item(comment)); });
    parts.push(list);
    if (data.page < data.pages) {
      parts.push(el("button", { type: "button", class: "secondary", text: "Show more threads", onclick: function () { load(data.page + 1).then(show); } }));
    }
    parts.push(el("p", { class: "note" }, [
      "The discussion is also on ", el("a", { href: thread.url, text: new URL(site).host }),
      " (", el("a", { href: thread.feed_url, text: "feed" }), ")."
    ]));
    if (thread.state === "open") parts.push(composer(null));
    else parts.push(el("p", { text: "Comments are closed." }));
    render(parts);
    if (member) held();
    var wanted = /^#forum-(c\d+)$/.exec(location.hash);
    var target = wanted && root.getElementById("forum-" + wanted[1]);
    if (target) target.scrollIntoView();
  }

  function item(comment) {
    var li = el("li", { id: "forum-c" + comment.id, style: "margin-inline-start:" + Math.min(Math.max(comment.depth, 0), 8) * 1.25 + "rem" });
    if (comment.note) { li.append(el("p", { class: "note", text: comment.note })); return li; }
    var article = el("div");
    article.innerHTML = comment.rendered; // the site's own rendering: names escaped, text sanitised when written
    li.append(article);
    var actions = article.querySelector("footer.comment-actions");
    if (comment.can_reply && actions) {
      var label = "Reply to " + comment.author.name;
      actions.prepend(el("button", { type: "button", class: "secondary", "aria-label": label, text: "Reply", "aria-expanded": "false", onclick: function (event) {
        var button = event.currentTarget, open = li.querySelector("form");
        if (open) { open.remove(); button.setAttribute("aria-expanded", "false"); return; }
        button.setAttribute("aria-expanded", "true");
        var form = composer(comment);
        li.append(form);
        form.querySelector("textarea, input").focus();
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
    var start = null, title = parent ? "Reply to " + parent.author.name : "Add a comment";
    form.append(el("h3", { text: title }));
    if (member) {
      form.append(el("p", {}, ["Signed in as ", el("bdi", { text: member.name || "a member" }), ". ",
        el("button", { type: "button", class: "secondary", text: "Sign out here", onclick: function () { forget(); show(); } })]));
    } else {
      form.append(el("p", {}, ["Members: ", el("button", { type: "button", class: "secondary", text: "Sign in", onclick: signIn }),
        " (a window of " + new URL(site).host + " opens). Or sign as a guest: we email you one link to publish your comment."]));
      form.append(field(form, "name", "Name", { required: true, maxlength: 100, autocomplete: "name" }));
      form.append(field(form, "affiliation", "Affiliation (optional)", { maxlength: 200, autocomplete: "organization" }));
      form.append(field(form, "email", "Email (never shown)", { type: "email", required: true, maxlength: 254, autocomplete: "email" }));
      form.append(field(form, "notify_replies", "Email me when someone replies", { type: "checkbox" }));
    }
    form.append(field(form, "body", "Your comment (Markdown; $formulas$ in TeX)", { rows: 8, required: true }));
    form.append(field(form, "competing_interests", "Competing interests (optional)", { maxlength: 300 }));
    var trap = field(form, "homepage_url", "Leave this field empty", { tabindex: "-1", autocomplete: "off" });
    trap.className = "trap";
    form.append(trap);
    var says = el("div", { "aria-live": "polite" });
    var preview = el("div", { class: "preview", hidden: true, "aria-label": "Preview" });
    form.append(says, preview, el("p", {}, [
      el("button", { type: "button", class: "secondary", text: "Preview", onclick: function () {
        api("/threads/" + thread.slug + "/preview", { body: form.elements.body.value }).then(function (answer) {
          if (answer.status !== 200) return tell(answer.data, true);
          preview.innerHTML = answer.data.html; // sanitised by the site
          preview.hidden = false;
        }, offline);
      } }), " ", el("button", { type: "submit", text: parent ? "Post reply" : "Post comment" })]));
    var text = form.elements.body;
    text.value = localStorage.getItem(draftKey) || "";
    text.addEventListener("input", function () { localStorage.setItem(draftKey, text.value); });
    // The form's key and signed time: asked as it is shown, awaited by a quick first send.
    var starting = api("/threads/" + thread.slug + "/form").then(function (answer) { start = answer.data; });

    function tell(problem, alert) {
      says.replaceChildren(status(problem.message, alert));
      Object.keys(problem.fields || {}).forEach(function (name) {
        if (name === "shown_at") { start.shown_at = problem.fields.shown_at[0]; return; }
        var input = form.elements[name];
        if (input) { input.setAttribute("aria-invalid", "true"); says.append(status(input.labels[0].textContent + ": " + problem.fields[name].join(" "), true)); }
      });
    }
    function offline() {
      tell({ message: "We could not reach " + site + ". Your text is kept in this browser: send it again later" +
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
        opened = answer.data.message;
        return load(data.page).then(function () {
          show();
          root.querySelector("section").append(status(opened));
        });
      }, offline);
    }
    return form;
  }

  function held() {
    api("/me/held").then(function (answer) {
      if (answer.status !== 200) return;
      var mine = answer.data.filter(function (comment) { return comment.thread === thread.slug; });
      if (!mine.length) return;
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
