"""What the browser tests share: links from mails, the audit tools (axe-core, the Nu HTML Checker), checks.

axe-core and vnu-jar are npm packages (package.json at the repository root,
installed by `npm ci`); the Nu HTML Checker needs Java.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
SCREENSHOTS = ROOT / "docs" / "screenshots"

# WCAG 2.1 A and AA, the levels the site promises.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_FAILING_IMPACTS = ("serious", "critical")


# --- Mail ----------------------------------------------------------------------


def links_in(message) -> list[str]:
    """Every http(s) link in a mail's text part."""
    return re.findall(r"https?://[^\s<>\"]+", message.body)


def saved_drafts(page) -> dict:
    """The comment drafts the script keeps in localStorage, by key."""
    page.wait_for_load_state()  # the deferred script has run
    return page.evaluate(
        """() => Object.fromEntries(Object.keys(localStorage)
            .filter((key) => key.startsWith("forum.draft:"))
            .map((key) => [key, JSON.parse(localStorage.getItem(key))]))"""
    )


def mailed_path(mailoutbox, to: str, containing: str) -> str:
    """The path (and query) of the latest link in the mails to `to` whose URL contains `containing`.

    Mails link to SITE_URL (http://testserver in tests) or to the host the
    request came to (allauth): the path is what the browser opens on the live server.
    """
    found = [link for message in mailoutbox if to in message.to for link in links_in(message) if containing in link]
    assert found, f"no mail to {to} with a link containing {containing!r}; mails: " + repr(
        [(m.to, m.subject) for m in mailoutbox]
    )
    parts = urlsplit(found[-1])
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- axe-core --------------------------------------------------------------------


def need(path: Path) -> None:
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `npm ci` at the repository root (see package.json).")


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now.

    axe is added with an init script (see `with_axe`), not `add_script_tag`:
    the site's Content-Security-Policy refuses inline scripts, which is what
    add_script_tag makes, and turning the policy off (bypass_csp) would audit a
    page that real readers never get.
    """
    assert page.evaluate("typeof window.axe") == "object", "axe-core is not loaded: open the page in with_axe(context)"
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']}); return r.violations.map((v) => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary)}));"
        " }",
        AXE_TAGS,
    )
    return result


def with_axe(context) -> None:
    need(AXE_JS)
    context.add_init_script(path=str(AXE_JS))


def describe_violations(violations: list[dict]) -> str:
    return "\n".join(f"  [{v['impact']}] {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in violations)


# --- The Nu HTML Checker -------------------------------------------------------------


def vnu_messages(documents: dict[str, str], tmp_path: Path) -> dict[str, list[dict]]:
    """Validate each named HTML document with vnu.jar in one run: {name: [messages]}."""
    need(VNU_JAR)
    java = shutil.which("java")
    if java is None:
        pytest.fail("The Nu HTML Checker needs Java: apt-get install -y default-jre-headless")
    files = {}
    for index, (name, html) in enumerate(documents.items()):
        path = tmp_path / f"page-{index:02d}.html"
        path.write_text(html, encoding="utf-8")
        files[path.name] = name
    run = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--format", "json", "--stdout", *[str(tmp_path / f) for f in files]],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(run.stdout or "{}")
    assert "messages" in report, f"vnu did not run: {run.stderr[-2000:]}"
    found: dict[str, list[dict]] = {name: [] for name in documents}
    for message in report["messages"]:
        name = files.get(message.get("url", "").rsplit("/", 1)[-1])
        assert name is not None, f"vnu reported on something else: {message}"
        found[name].append(message)
    return found


# --- Hostile input ---------------------------------------------------------------------

# Run in every document before the page's own scripts: a payload that runs
# calls one of these (or pushes to window.__xss itself), and is recorded.
XSS_MARKER = (
    "window.__xss = [];"
    "window.alert = window.confirm = window.prompt = (...args) => window.__xss.push(args.map(String));"
)

# What must never be found in a page that shows user input. Returns findings (strings).
FIND_INJECTED = r"""
() => {
  const found = [];
  const ours = (s) => /^\/static\/forum\/[\w.-]+\.js$/.test(new URL(s.src, location.href).pathname)
    && new URL(s.src, location.href).origin === location.origin;
  const where = (el) => {
    const item = el.closest("[id]");
    return `${el.tagName.toLowerCase()} in #${item ? item.id : "?"}`;
  };
  // Ours: the site's scripts, and the page's schema.org data in its head (data, never run).
  const data = (s) => s.type === "application/ld+json" && s.parentElement === document.head && !s.src;
  for (const s of document.scripts)
    if (!data(s) && (!s.src || !ours(s))) found.push(`script: ${s.outerHTML.slice(0, 120)}`);
  // MathML only where user content is shown (a comment's text, a quoted comment, an essay).
  const userContent = ".comment-body, .replying-to, .essay-body";
  for (const el of document.querySelectorAll("math"))
    if (!el.parentElement.closest(userContent)) found.push(`math outside user content: ${where(el)}`);
  const banned = "iframe, frame, frameset, object, embed, applet, base, form form, svg, template, "
    + "style, link:not(head link), meta:not(head meta), video, audio, source, track, "
    + "input[type=image], isindex, marquee, xmp, noembed, noscript, portal";
  for (const el of document.querySelectorAll(banned))
    found.push(`element: ${where(el)}: ${el.outerHTML.slice(0, 120)}`);
  const urlAttrs = ["href", "src", "action", "formaction", "data", "xlink:href", "background", "poster",
    "lowsrc", "dynsrc", "srcdoc", "codebase", "cite", "longdesc", "ping", "srcset"];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\u0000-\u0020\u007f-\u00a0]/g, "").toLowerCase();
      if (name.startsWith("on")) found.push(`handler: ${where(el)} [${name}=${attr.value.slice(0, 80)}]`);
      else if (urlAttrs.includes(name) && /^(javascript|vbscript|data|livescript|mocha):/.test(value)
               && !(el.tagName === "LINK" && el.closest("head")))
        found.push(`url: ${where(el)} [${name}=${attr.value.slice(0, 80)}]`);
      // The site's templates and scripts use none of these.
      else if (["style", "autofocus", "srcdoc", "formaction", "xmlns", "xlink:href", "contenteditable"].includes(name))
        found.push(`attribute: ${where(el)} [${name}=${attr.value.slice(0, 80)}]`);
    }
  }
  // Inside user content only the sanitiser's allow-list (forum.lib.markup.COMMENT_TAGS) may appear:
  // HTML elements in the HTML namespace, MathML's (forum.lib.tex.MATHML_TAGS) in MathML's, with
  // their attributes; footnotes' ids, classes and labels in their one shape.
  const allowed = new Set(
    ["P", "BR", "EM", "STRONG", "A", "BLOCKQUOTE", "UL", "OL", "LI", "CODE", "PRE", "SUP", "SECTION"]);
  const mathml = new Set(["math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace",
    "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
    "mstyle", "mpadded", "mphantom", "menclose", "merror", "mmultiscripts", "mprescripts", "none"]);
  const MATHML_NS = "http://www.w3.org/1998/Math/MathML", HTML_NS = "http://www.w3.org/1999/xhtml";
  const mathAttributes = ["display", "alttext", "encoding", "mathvariant", "stretchy", "fence", "separator", "form",
    "largeop", "movablelimits", "accent", "accentunder", "minsize", "maxsize", "symmetric", "lspace", "rspace",
    "displaystyle", "scriptlevel", "mathsize", "linethickness", "width", "height", "depth", "voffset", "linebreak",
    "notation", "columnalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame", "framespacing",
    "columnspan", "rowspan"];
  const shaped = {id: /^fn(ref)?-[0-9a-f]{8}-\d+(:\d+)?$/, class: /^footnote(s|-ref|-item|-backref|s-list)$/,
    "aria-label": /^Back to the text$/};
  for (const body of document.querySelectorAll(".comment-body, .replying-to math")) {
    for (const el of body.querySelectorAll("*")) {
      const isMath = el.namespaceURI === MATHML_NS;
      if (isMath ? !mathml.has(el.localName) : el.namespaceURI !== HTML_NS || !allowed.has(el.tagName))
        found.push(`not allowed in a comment: ${where(el)}: ${el.outerHTML.slice(0, 100)}`);
      for (const attr of el.attributes)
        if (isMath ? !mathAttributes.includes(attr.name)
            : !["href", "title", "rel", "start"].includes(attr.name)
              && !(shaped[attr.name] && shaped[attr.name].test(attr.value)))
          found.push(`attribute in a comment: ${where(el)} [${attr.name}]`);
      // Relative links ([x](x)) stay on the site; only the web and mail may be linked to.
      if (el.tagName === "A" && el.hasAttribute("href")
          && !["http:", "https:", "mailto:"].includes(new URL(el.getAttribute("href"), location.href).protocol))
        found.push(`link in a comment: ${where(el)} [href=${el.getAttribute("href").slice(0, 80)}]`);
    }
  }
  return found.concat((window.__xss || []).map((args) => `RAN: ${JSON.stringify(args).slice(0, 120)}`));
}
"""
