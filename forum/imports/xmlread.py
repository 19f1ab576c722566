"""Reading a large export one element at a time, mending what old exports get wrong.

Exports are parsed with ElementTree's pull parser: each element at the depth
the format keeps its items (an Atom <entry>, a WordPress <item>, a Disqus
<post>) is handed over, then cleared and dropped, so memory follows one item,
not the file.

What is mended, and reported:
- bytes before the first "<" (a second byte-order mark, a blank line before
  the XML declaration, stray text) are skipped;
- control characters, raw or as character references, which XML 1.0 forbids,
  are removed: they are replaced while reading by a marker (U+FDD0, a
  noncharacter no text holds) that `Fields` strips, so the warning can name
  the entry they were in;
- a namespace prefix used without being declared (exports assembled by hand
  or by plugins) is declared on the root element, with the namespace the
  formats use for it, and the file is read again.
Anything else that is not well-formed is refused with the parser's line and
column. Reading finishes before anything is written, so a refusal writes nothing.
"""

import codecs
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from pyexpat import errors as expat_errors
from typing import Protocol

CHUNK = 1 << 16
MAX_PREFIX_REPAIRS = 20

MARK = "\ufdd0"  # what a removed control character reads as...
MARK_REF = b"&#xFDD0;"
MARK_LITERAL = "&#xFDD0;"  # ...and inside CDATA, where references are not read
UNDECLARED = " (undeclared)"  # added to a namespace given to an undeclared prefix, until its item is read

# Where a prefix is used without a declaration, these are what the formats mean by it.
KNOWN_NAMESPACES = {
    "atom": "http://www.w3.org/2005/Atom",
    "openSearch": "http://a9.com/-/spec/opensearchrss/1.0/",
    "gd": "http://schemas.google.com/g/2005",
    "thr": "http://purl.org/syndication/thread/1.0",
    "georss": "http://www.georss.org/georss",
    "app": "http://purl.org/atom/app#",
    "blogger": "http://schemas.google.com/blogger/2018",
    "wp": "http://wordpress.org/export/1.2/",
    "excerpt": "http://wordpress.org/export/1.2/excerpt/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "wfw": "http://wellformedweb.org/CommentAPI/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dsq": "http://disqus.com/disqus-internals",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "media": "http://search.yahoo.com/mrss/",
}

_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# References to characters XML 1.0 forbids (C0 controls, surrogates, U+FFFE/U+FFFF).
_BAD_REFERENCE = re.compile(
    rb"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|[dD][89a-fA-F][0-9a-fA-F]{2}|[fF]{3}[eEfF])"
    rb"|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));"
)
_PROLOG_ITEM = re.compile(rb"<!--.*?-->|<\?.*?\?>|<!DOCTYPE(?:[^\[>]|\[.*?\])*>|<([^\s/>!?]+)", re.S)
_USED_PREFIX = re.compile(r"</?([A-Za-z_][\w.-]*):[A-Za-z_]|\s([A-Za-z_][\w.-]*):[A-Za-z_][\w.-]*\s*=")
_UNBOUND_PREFIX = expat_errors.codes[expat_errors.XML_ERROR_UNBOUND_PREFIX]
_BOMS_UTF16 = (b"\xff\xfe", b"\xfe\xff")
_BOM_UTF8 = b"\xef\xbb\xbf"


class ImportRefused(Exception):
    """The file cannot be imported as it is. Raised before anything is written."""


class Handler(Protocol):
    def root(self, elem: ET.Element) -> None: ...

    def element(self, elem: ET.Element) -> None: ...


@dataclass
class Reading:
    """What the reader mended, for the report."""

    notes: list[str] = field(default_factory=list)
    undeclared: dict[str, str] = field(default_factory=dict)  # prefix -> namespace given to it
    marked: int = 0  # control characters removed
    root_prefixes: set[str] = field(default_factory=set)  # declared on the root element
    in_item: list[str] = field(default_factory=list)  # undeclared prefixes the current item used


class _MendedStream:
    """The file's bytes, with what expat refuses replaced (see the module docstring)."""

    def __init__(self, path: Path, undeclared: dict[str, str], reading: Reading) -> None:
        self.file = open(path, "rb")  # noqa: SIM115 (closed by close())
        self.size = os.fstat(self.file.fileno()).st_size
        self.undeclared = undeclared
        self.reading = reading
        self.started = False
        self.utf16 = False
        self.carry = b""
        self.position = 0

    def close(self) -> None:
        self.file.close()

    def _more(self) -> bytes:
        data = self.file.read(CHUNK)
        self.position += len(data)
        return data

    def read(self) -> bytes:
        data = self._more()
        if not self.started:
            self.started = True
            # The root element's start tag must be in the first piece (to declare prefixes on it).
            while len(data) < 1 << 20 and _root_tag(data) is None and (more := self._more()):
                data += more
            data = self._start(data)
        if self.utf16:
            return data
        data, self.carry = self.carry + data, b""
        if data and self.position < self.size:
            # A character reference cut in two by the chunk boundary waits for its end.
            amp = data.rfind(b"&")
            if amp != -1 and len(data) - amp < 16 and b";" not in data[amp:]:
                data, self.carry = data[:amp], data[amp:]
        data, raw = _CONTROL.subn(MARK_REF, data)
        data, refs = _BAD_REFERENCE.subn(MARK_REF, data)
        self.reading.marked += raw + refs
        return data

    def _start(self, data: bytes) -> bytes:
        if not data.strip():
            raise ImportRefused("The file is empty.")
        if data.startswith(_BOMS_UTF16):
            self.utf16 = True
            if self.undeclared:
                raise ImportRefused("The file is UTF-16 and uses undeclared namespace prefixes; save it as UTF-8.")
            return data
        start = data.find(b"<")
        if start == -1:
            raise ImportRefused("This is not XML: there is no “<” in the first kilobytes of the file.")
        stray = data[:start]
        if stray and stray != _BOM_UTF8:
            shown = stray[:20].decode("latin-1").encode("unicode_escape").decode()
            self.reading.notes.append(f"Skipped {len(stray)} stray byte(s) before the XML starts (“{shown}”).")
        data = data[start:]
        root = _root_tag(data)
        if b"<!ENTITY" in data[: root.start() if root else len(data)]:
            raise ImportRefused(
                "The file declares XML entities (<!ENTITY> in its DOCTYPE). Exports never do, "
                "and entity expansion is how “XML bombs” work, so it is refused."
            )
        if self.undeclared and root is not None:
            declarations = "".join(f' xmlns:{prefix}="{uri}{UNDECLARED}"' for prefix, uri in self.undeclared.items())
            data = data[: root.end()] + declarations.encode() + data[root.end() :]
        return data


def _root_tag(data: bytes) -> re.Match | None:
    """Where the root element's start tag begins (after declarations, comments, a DOCTYPE)."""
    position = max(data.find(b"<"), 0)
    while match := _PROLOG_ITEM.search(data, position):
        if match.group(1):
            return match
        position = match.end()
    return None


def read[H: Handler](path: Path, depth: int, make_handler: Callable[[Reading], H], progress=None) -> tuple[H, Reading]:
    """Parse the file, handing each element at `depth` (the root is 0) to a handler.

    `make_handler(reading)` is called again if the file must be read again
    (to declare a prefix it forgot), so the handler starts afresh.
    """
    undeclared: dict[str, str] = {}
    notes: list[str] = []
    for _attempt in range(MAX_PREFIX_REPAIRS + 1):
        reading = Reading(notes=list(notes), undeclared=dict(undeclared))
        handler = make_handler(reading)
        try:
            _read_once(path, depth, handler, reading, progress)
        except ET.ParseError as error:
            line, column = error.position
            prefixes = set()
            if error.code == _UNBOUND_PREFIX:
                prefixes = _prefixes_near(path, undeclared, line, column) - reading.root_prefixes - set(undeclared)
            if not prefixes:
                reason = str(error).split(":", 1)[0]
                if reason == "no element found":
                    raise ImportRefused(
                        f"The file ends before its XML does (line {line}, column {column + 1}): is it complete?"
                    ) from None
                raise ImportRefused(
                    f"The file is not well-formed XML ({reason}) at line {line}, column {column + 1}."
                ) from None
            for prefix in sorted(prefixes):
                uri = KNOWN_NAMESPACES.get(prefix, f"urn:x-undeclared-prefix:{prefix}")
                undeclared[prefix] = uri
                meaning = uri if prefix in KNOWN_NAMESPACES else "an unknown namespace, and ignored"
                notes.append(f"Line {line}: the prefix “{prefix}:” is used but never declared; read as {meaning}.")
            continue
        return handler, reading
    raise ImportRefused(f"The file uses more than {MAX_PREFIX_REPAIRS} undeclared namespace prefixes.")


def _read_once(path: Path, depth: int, handler: Handler, reading: Reading, progress) -> None:
    stream = _MendedStream(path, reading.undeclared, reading)
    parser = ET.XMLPullParser(events=("start", "end", "start-ns"))
    stack: list[ET.Element] = []
    try:
        while chunk := stream.read():
            parser.feed(chunk)
            _dispatch(parser, stack, depth, handler, reading)
            if progress is not None:
                progress(stream.position, stream.size)
        if stream.carry:
            parser.feed(stream.carry)
        parser.close()
        _dispatch(parser, stack, depth, handler, reading)
    finally:
        stream.close()


def _dispatch(parser: ET.XMLPullParser, stack: list[ET.Element], depth: int, handler: Handler, reading: Reading):
    for event, elem in parser.read_events():
        if event == "start":
            stack.append(elem)
            if len(stack) == 1:
                handler.root(elem)
        elif event == "end":
            stack.pop()
            if len(stack) == depth:
                reading.in_item = _restore_undeclared(elem, reading.undeclared) if reading.undeclared else []
                handler.element(elem)
                elem.clear()
                if stack:  # drop it from its parent too: nothing of it stays
                    stack[-1].remove(elem)
        elif not stack:  # start-ns before the root element: declared on the root
            reading.root_prefixes.add(elem[0])


def _restore_undeclared(elem: ET.Element, undeclared: dict[str, str]) -> list[str]:
    """Give undeclared prefixes' names their namespace; return the prefixes this item used."""
    by_uri = {uri + UNDECLARED: prefix for prefix, uri in undeclared.items()}
    found = set()
    for node in elem.iter():
        if UNDECLARED in node.tag:
            found.add(by_uri.get(namespace(node.tag), "?"))
            node.tag = node.tag.replace(UNDECLARED, "")
        for name in [name for name in node.attrib if UNDECLARED in name]:
            found.add(by_uri.get(namespace(name), "?"))
            node.attrib[name.replace(UNDECLARED, "")] = node.attrib.pop(name)
    return sorted(found)


def _prefixes_near(path: Path, undeclared: dict[str, str], line: int, column: int) -> set[str]:
    """The prefixes used in the tags around a position (where expat found an unbound one).

    Old Blogger exports are one very long line: the text is decoded as it
    streams and only a window around the column is kept.
    """
    stream = _MendedStream(path, undeclared, Reading())
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    current, offset, window = 1, 0, []
    low, high = max(column - 2000, 0), column + 2000
    try:
        while (chunk := stream.read()) and current <= line:
            for index, part in enumerate(decoder.decode(chunk).split("\n")):
                if index:
                    current, offset = current + 1, 0
                if current == line and offset < high and offset + len(part) > low:
                    window.append(part[max(low - offset, 0) : high - offset])
                offset += len(part)
            if current > line or (current == line and offset >= high):
                break
    finally:
        stream.close()
    text = "".join(window)
    used = {match.group(1) or match.group(2) for match in _USED_PREFIX.finditer(text)}
    declared = set(re.findall(r"xmlns:([A-Za-z_][\w.-]*)\s*=", text))
    return used - declared - {"xml", "xmlns"}


# --- Reading values -------------------------------------------------------


def local(tag: str) -> str:
    """ "{http://www.w3.org/2005/Atom}entry" -> "entry"."""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


class Fields:
    """Values of one item, with a note of whether control characters had to be removed."""

    def __init__(self, elem: ET.Element) -> None:
        self.elem = elem
        self.mended = False

    def clean(self, value: str | None) -> str:
        if not value:
            return ""
        if MARK in value or MARK_LITERAL in value:
            self.mended = True
            value = value.replace(MARK, "").replace(MARK_LITERAL, "")
        return value

    def text(self, elem: ET.Element | None) -> str:
        """An element's text (CDATA or not), stripped; "" if there is no such element."""
        if elem is None:
            return ""
        return self.clean("".join(elem.itertext())).strip()

    def child(self, tag: str, parent: ET.Element | None = None) -> str:
        return self.text((self.elem if parent is None else parent).find(tag))

    def attr(self, elem: ET.Element | None, name: str) -> str:
        return "" if elem is None else self.clean(elem.get(name)).strip()
