"""TeX formulas as MathML, made on the server when a text is saved (forum.lib.markup calls this).

latex2mathml reads the TeX; its tree is then written out again here, element by
element, keeping only the MathML elements and attributes in MATHML_TAGS and
MATHML_ATTRIBUTES and escaping every text and value. That is not a formality:
latex2mathml's own serialiser writes `\\text{<script>…}` as a <script> element,
`\\href{javascript:…}` as an href and `\\style{…}` as a style. The sanitiser in
forum.lib.markup then cleans the result with the same allow-list, as it cleans
everything else.

Each formula keeps its TeX source twice, for people who cannot see the
rendering: in `alttext`, and as an `application/x-tex` annotation, which
browsers do not display. Feeds and mails, whose readers often show no MathML,
get the source instead (markup.tex_in_place_of_math).
"""

import re
from html import escape
from xml.etree.ElementTree import Element

from latex2mathml.converter import convert_to_element

# The MathML elements a formula may use: MathML Core's presentation elements that latex2mathml
# makes. Not mglyph, malignmark or annotation-xml (HTML parses them specially: the stuff of
# mutation XSS), not maction or any href.
MATHML_TAGS = frozenset(
    {
        "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub",
        "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle",
        "mpadded", "mphantom", "menclose", "merror", "mmultiscripts", "mprescripts", "none",
    }
)  # fmt: skip
_LAYOUT = ["columnalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame", "framespacing"]
_SPACING = ["width", "height", "depth", "lspace", "rspace", "voffset"]
MATHML_ATTRIBUTES = {
    "math": ["display", "alttext"],
    "annotation": ["encoding"],
    "mi": ["mathvariant"],
    "mn": ["mathvariant"],
    "mtext": ["mathvariant"],
    "mo": ["stretchy", "fence", "separator", "form", "largeop", "movablelimits", "accent", "minsize", "maxsize",
           "symmetric", "lspace", "rspace", "mathvariant"],
    "mstyle": ["displaystyle", "scriptlevel", "mathvariant", "mathsize"],
    "mfrac": ["linethickness"],
    "mover": ["accent"],
    "munder": ["accentunder"],
    "munderover": ["accent", "accentunder"],
    "mspace": [*_SPACING, "linebreak"],
    "mpadded": _SPACING,
    "menclose": ["notation"],
    "mtable": [*_LAYOUT, "displaystyle"],
    "mtr": ["columnalign"],
    "mtd": ["columnalign", "columnspan", "rowspan"],
}  # fmt: skip
# A value latex2mathml writes: a keyword, a number or a length, a list of them. No quotes, colons,
# parentheses or semicolons (no URL, no CSS).
_VALUE = re.compile(r"[\w .%+#-]*")
# latex2mathml writes a character as the text "&#x1D431;": made a character again, then escaped.
_CHARACTER = re.compile(r"&#x([0-9A-Fa-f]{1,6});")
TEX_ENCODING = "application/x-tex"
MAX_TEX = 4_000  # characters in one formula: longer is shown as typed


class UnreadableTeX(ValueError):
    """latex2mathml could not read the formula."""


def mathml(tex: str, display: bool) -> str:
    """The formula as a <math> element (display="block" or "inline"), its source kept in it; or
    UnreadableTeX."""
    tex = tex.strip()
    if not tex or len(tex) > MAX_TEX:
        raise UnreadableTeX(tex)
    try:
        tree = convert_to_element(tex, display="block" if display else "inline")
    # Any exception: the converter raises its own for bad TeX, and others (IndexError,
    # RecursionError...) for input it does not expect; a comment must never fail to save for it.
    except Exception as error:
        raise UnreadableTeX(tex) from error
    body = list(tree)
    if len(body) != 1:
        body = [Element("mrow")]
        body[0].extend(tree)
    parts = [f'<math display="{"block" if display else "inline"}" alttext="{escape(tex)}"><semantics>']
    for element in body:
        _write(element, parts)
    parts.append(f'<annotation encoding="{TEX_ENCODING}">{escape(tex, quote=False)}</annotation></semantics></math>')
    return "".join(parts)


def _write(element: Element, parts: list[str]) -> None:
    """The element as MathML if it is allowed, else only its content; every text escaped."""
    tag = element.tag if isinstance(element.tag, str) else ""
    allowed = tag in MATHML_TAGS and tag not in ("math", "semantics", "annotation")
    if allowed:
        names = MATHML_ATTRIBUTES.get(tag, ())
        attributes = "".join(
            f' {name}="{escape(value)}"'
            for name, value in element.attrib.items()
            if name in names and _VALUE.fullmatch(value)
        )
        parts.append(f"<{tag}{attributes}>")
    parts.append(_text(element.text))
    for child in element:
        _write(child, parts)
        parts.append(_text(child.tail))
    if allowed:
        parts.append(f"</{tag}>")


def _text(text: str | None) -> str:
    return escape(_CHARACTER.sub(_character, text), quote=False) if text else ""


def _character(match: re.Match) -> str:
    code = int(match.group(1), 16)
    # No surrogates (they cannot be encoded), nothing past Unicode, no control characters.
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF or (code < 0x20 and code not in (0x09, 0x0A)):
        return "\ufffd"
    return chr(code)
