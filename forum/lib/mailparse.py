"""Reading a comment out of an email: pure helpers, no Django, no database.

`parse(raw, domain)` turns the bytes a mail server delivers into a `Parsed`
message: who sent it, which comment address it was for, the text to post
(quotes, forwarded parts and signature cut) and the full text as it arrived.
`manage.py receive_email` decides what to do with it.

Everything here is defensive: mail is written by every client ever made and
by spammers. Unknown charsets, broken encodings, raw 8-bit headers, NUL bytes
and lone surrogates all come out as readable (if imperfect) text, never as an
exception; only a message with no usable sender or nothing email-shaped at all
is `Unreadable`.
"""

import codecs
import email
import email.header
import email.policy
import email.utils
import hashlib
import re
import string
from dataclasses import dataclass
from email.message import EmailMessage, Message
from html.parser import HTMLParser

# The local part of the comment addresses: comments+<slug>[.<token>]@domain.
LOCAL_PART = "comments"
# Where the delivered-to address is looked for, best first.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")
MAX_NAME = 100  # Comment.author_name
MAX_ADDRESS = 254  # RFC 5321; EmailField
MAX_MESSAGE_ID = 300  # ReceivedMail.message_id
MAX_FILENAME = 200


class Unreadable(ValueError):
    """Not a message we can do anything with (no sender, no headers at all)."""


@dataclass(frozen=True)
class Target:
    """A comment address: the essay's slug, and the signed reply token if any."""

    address: str
    slug: str
    token: str = ""


@dataclass(frozen=True)
class Parsed:
    message_id: str
    sender_email: str
    sender_name: str
    subject: str
    target: Target | None
    # An address at our mail domain that is not a comment address (comments@, moderators@…).
    other_address: str
    body: str  # what to post: quotes, forwarded parts and signature cut
    original: str  # the whole text as it arrived (HTML turned into text)
    attachments: tuple[str, ...]
    is_reply: bool
    # Why this looks like machine-made mail (an auto-reply, a bounce), or "".
    automatic: str


# --- Text clean-up -----------------------------------------------------------------


def _try(call, default):
    """The email package's header parser can raise on malformed MIME headers: read them leniently."""
    try:
        return call()
    except Exception:
        return default


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(text: str, *, single_line: bool = False) -> str:
    """Text safe to store: no lone surrogates (raw 8-bit headers), no NUL or control characters."""
    if _SURROGATE.search(text):
        # The email package keeps undecodable header bytes as surrogates: recover them as UTF-8,
        # the usual charset of raw 8-bit headers (RFC 6532), or else as Windows-1252.
        data = text.encode("utf-8", "surrogateescape")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", "replace")
        text = _SURROGATE.sub("\ufffd", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if single_line:
        text = " ".join(text.split())
    return text


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset (often wrong, sometimes unknown) to text; never raises."""
    name = (charset or "").strip().strip("\"'").lower()
    if name in ("", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "8bit", "default"):
        name = ""  # undeclared: UTF-8 if it is valid, else what Windows would have sent
    elif name in ("iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1"):
        name = "cp1252"  # what clients mean by it (as browsers do): quotes and dashes in 0x80-0x9f
    else:
        try:
            codecs.lookup(name)
        except (LookupError, ValueError):  # unknown, or not even a name (NUL, raw 8-bit bytes)
            name = ""
    if not name:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        if _UTF8_SEQUENCE.search(data):  # mostly UTF-8, with some broken bytes
            return data.decode("utf-8", "replace")
        return data.decode("cp1252", "replace")
    try:
        return data.decode(name, "replace")
    except (LookupError, UnicodeError, TypeError):  # a codec that cannot even replace
        return data.decode("utf-8", "replace")


def unflow(text: str, delsp: bool = False) -> str:
    """Undo format=flowed (RFC 3676): soft-broken lines (ending in a space) join the next."""
    out: list[str] = []
    buffer: str | None = None
    buffer_depth = 0

    def emit(depth: int, content: str) -> None:
        out.append((">" * depth + " " if depth else "") + content)

    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if buffer is not None and depth != buffer_depth:
            emit(buffer_depth, buffer)
            buffer = None
        buffer = content if buffer is None else buffer + content
        buffer_depth = depth
        if not flowed:
            emit(depth, buffer)
            buffer = None
    if buffer is not None:
        emit(buffer_depth, buffer)
    return "\n".join(out)


# --- HTML to text ------------------------------------------------------------------

_PARAGRAPH_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote", "pre", "figure", "hr",
    "address", "fieldset",
}  # fmt: skip
_LINE_TAGS = {
    "div", "section", "article", "header", "footer", "main", "nav", "aside", "li", "dt", "dd", "tr",
    "figcaption", "center", "form", "caption", "details", "summary",
}  # fmt: skip
_SKIPPED_TAGS = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"}
_VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"}


class _TextMaker(HTMLParser):
    """Readable text from an HTML mail: paragraphs and line breaks kept, quotes marked with ">"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []  # (quote depth, text)
        self.current: list[str] = []
        self.current_has_text = False  # anything but spaces on the current line
        self.current_ends_in_space = False
        self.current_depth = 0
        self.pending = 0  # line breaks wanted before the next text (1: new line, 2: blank line)
        self.quote = 0
        self.pre = 0
        self.skip: list[str] = []
        self.lists: list[list] = []  # [tag, counter] of open ul/ol
        self.links: list[str | None] = []
        self.link_text: list[list[str]] = []

    # Line bookkeeping
    def _finish_line(self) -> None:
        text = "".join(self.current)
        self.lines.append((self.current_depth, text if self.pre else text.strip()))
        self.current = []
        self.current_has_text = self.current_ends_in_space = False

    def _want(self, breaks: int) -> None:
        if self.lines or self.current:
            self.pending = max(self.pending, breaks)

    def _write(self, text: str) -> None:
        if self.pending:
            if self.current:
                self._finish_line()
            if self.pending > 1 and self.lines and self.lines[-1][1]:
                self.lines.append((min(self.quote, self.lines[-1][0]), ""))
            self.pending = 0
        if not self.current:
            self.current_depth = self.quote
        self.current.append(text)
        if text:
            self.current_has_text = self.current_has_text or not text.isspace()
            self.current_ends_in_space = text[-1].isspace()
        for collected in self.link_text:
            collected.append(text)

    # Parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip:
            if tag not in _VOID_TAGS:
                self.skip.append(tag)
            return
        if tag in _SKIPPED_TAGS:
            self.skip.append(tag)
            return
        if tag == "br":
            if self.pending:
                self._write("")
            self._finish_line()
            return
        if tag in _PARAGRAPH_TAGS:
            self._want(2)
        elif tag in _LINE_TAGS:
            self._want(1)
        if tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 0])
        elif tag == "li":
            marker = "- "
            if self.lists:
                self.lists[-1][1] += 1
                if self.lists[-1][0] == "ol":
                    marker = f"{self.lists[-1][1]}. "
            self._write("  " * max(0, len(self.lists) - 1) + marker)
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
            self.link_text.append([])
        elif tag in ("td", "th") and self.current_has_text:
            self._write(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag in self.skip:
                while self.skip and self.skip.pop() != tag:
                    pass
            return
        if tag == "a" and self.links:
            href, text = self.links.pop(), "".join(self.link_text.pop()).strip()
            if href and href.startswith(("http://", "https://")) and href.rstrip("/") not in text:
                self._write(f" ({href})")
        if tag == "blockquote" and self.quote:
            self._want(2)
            if self.current:
                self._finish_line()
            self.quote -= 1
        elif tag == "pre" and self.pre:
            if self.current:
                self._finish_line()  # while its spaces still count
            self.pre -= 1
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        if tag in _PARAGRAPH_TAGS:
            self._want(2)
        elif tag in _LINE_TAGS:
            self._want(1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            parts = data.replace("\r\n", "\n").split("\n")
            for index, part in enumerate(parts):
                if index:
                    self._finish_line()
                self._write(part)
            return
        text = re.sub(r"\s+", " ", data)
        if not self.current_has_text or self.current_ends_in_space or self.pending:
            text = text.lstrip()
        if text:
            self._write(text)

    def text(self) -> str:
        self.close()
        if self.current:
            self._finish_line()
        rendered = [(">" * depth + " " if depth else "") + line if line or not depth else ">" * depth
                    for depth, line in self.lines]  # fmt: skip
        return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in rendered)).strip("\n")


def html_to_text(html: str) -> str:
    maker = _TextMaker()
    try:
        maker.feed(html)
        return maker.text()
    except Exception:  # html.parser is lenient, but never let a page of tag soup stop a comment
        return re.sub(r"<[^>]*>", " ", html)


# --- Cutting quotes and signatures ------------------------------------------------------

_ATTRIBUTIONS = (
    re.compile(r"^On\b.{1,300}\bwrote:$", re.IGNORECASE),
    re.compile(r"^Le\b.{1,300}\ba écrit\s?:$", re.IGNORECASE),
    re.compile(r"^Am\b.{1,300}\bschrieb\b.{0,200}:$", re.IGNORECASE),
    re.compile(r"^El\b.{1,300}\bescribió:$", re.IGNORECASE),
)
# Mail clients put a date in their attribution line, and mostly a time or an address:
# "On 12 May 1945, Churchill wrote:" in a fresh message is more likely the writer's own.
_ATTRIBUTION_EVIDENCE = re.compile(r"\d")
_STRONG_EVIDENCE = re.compile(r"@|\b\d{1,2}:\d{2}\b")
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(Original Message|Forwarded message|Message d'origine|Ursprüngliche Nachricht|Mensaje original)"
    r"\s*-{2,}$",
    re.IGNORECASE,
)
_BEGIN_FORWARDED = re.compile(r"^Begin forwarded message:$", re.IGNORECASE)
_OUTLOOK_FROM = re.compile(r"^\*?(From|De|Von|Van)\s?:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\*?(Sent|Envoyé|Gesendet|Verzonden|Enviado)\s?:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_ONE_LINE = re.compile(r"^\*?From:\*?\s.*\bSent:\s", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^_{10,}$")


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_at(lines: list[str], index: int, strict: bool) -> int:
    """How many lines (1 or 2) an "On <date>, <name> wrote:" header takes at `index`, or 0."""
    first = lines[index].strip()
    if not first or _quoted(first):
        return 0
    candidates = [(first, 1)]
    if index + 1 < len(lines) and lines[index + 1].strip() and not _quoted(lines[index + 1]):
        candidates.append((f"{first} {lines[index + 1].strip()}", 2))  # wrapped by the client
    for text, size in candidates:
        evidence = _STRONG_EVIDENCE if strict else _ATTRIBUTION_EVIDENCE
        if any(pattern.match(text) for pattern in _ATTRIBUTIONS) and evidence.search(text):
            return size
    return 0


def _outlook_block_at(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if _ORIGINAL_MESSAGE.match(line) or _BEGIN_FORWARDED.match(line) or _OUTLOOK_ONE_LINE.match(line):
        return True
    if _OUTLOOK_FROM.match(line):
        following = [candidate.strip() for candidate in lines[index + 1 : index + 4]]
        return any(_OUTLOOK_SENT.match(candidate) for candidate in following)
    return False


def _answers_between_quotes(rest: list[str]) -> bool:
    """After an attribution: quoted text with answers written in between (an inline reply)?"""
    seen_quote = False
    for line in rest:
        if line.strip() in ("--", "-- "):
            return False
        if _quoted(line):
            seen_quote = True
        elif line.strip():
            return seen_quote
    return False


def strip_reply(text: str, is_reply: bool = True) -> tuple[str, bool]:
    """The writer's own words: without quoted text, attribution lines, forwarded blocks and signature.

    Lines starting with ">" are cut from replies only: in a fresh message they are
    the writer's own Markdown quotations. Returns the text and whether it turned
    out to be a reply (an attribution line or an Outlook block was found).
    """
    lines = text.split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.rstrip("\n") in ("-- ", "--"):
            break  # the signature
        if _outlook_block_at(lines, index):
            is_reply = True
            while kept and (not kept[-1].strip() or _UNDERSCORES.match(kept[-1].strip())):
                kept.pop()  # Outlook's rule above its header
            break
        size = _attribution_at(lines, index, strict=not is_reply)
        if size:
            is_reply = True
            if not _answers_between_quotes(lines[index + size :]):
                break  # the quoted message follows: cut it all
            index += size  # answers between quotes: drop the attribution, keep the answers
            continue
        kept.append(line)
        index += 1
    if is_reply:
        kept = [line for line in kept if not _quoted(line)]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in kept)).strip("\n")
    return body, is_reply


# --- Headers -------------------------------------------------------------------------

_COMMENT_LOCAL = re.compile(rf"^{LOCAL_PART}\+(?P<slug>[A-Za-z0-9_-]+)(?:\.(?P<token>[A-Za-z0-9_:.=-]+))?$", re.I)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_NOT_IN_LOCAL_PART = frozenset(' \t\r\n<>,;"()[]')
MAX_LOCAL_PART = 400


def _raw_headers(message: Message, name: str) -> list[str]:
    """A header's values as they arrived (unfolded): the parsed form mangles some addresses."""
    return [
        re.sub(r"\r?\n[ \t]", " ", str(value))
        for key, value in message.raw_items()
        if key.lower() == name.lower()
    ]  # fmt: skip


def addresses_at(text: str, domain: str) -> list[str]:
    """Every address at `domain` (whatever its case) in a header's text, found from its "@".

    Read from the text rather than parsed: a reply token holds ":" (so clients may
    quote the local part, or not), and a linear scan is safe on a megabyte of header.
    """
    lowered, needle = text.translate(_ASCII_LOWER), "@" + domain.strip().rstrip(".").lower()  # same length
    found = []
    at = lowered.find(needle)
    while at != -1:
        end = at + len(needle)
        if end == len(text) or not (text[end].isalnum() or text[end] in ".-"):  # not a longer domain
            if at and text[at - 1] == '"':
                opening = text.rfind('"', max(0, at - 2 - MAX_LOCAL_PART), at - 1)
                local = text[opening + 1 : at - 1] if opening != -1 else ""
            else:
                start = at
                while start and at - start < MAX_LOCAL_PART and text[start - 1] not in _NOT_IN_LOCAL_PART:
                    start -= 1
                local = text[start:at]
            if ":" in local and not local.lower().startswith(LOCAL_PART):
                local = local.rsplit(":", 1)[-1]  # a group's name ("Undisclosed:comments+…")
            if local:
                found.append(f"{local}@{text[at + 1 : end]}")
        at = lowered.find(needle, end)
    return found


def find_target(message: Message, domain: str, envelope_recipient: str = "") -> tuple[Target | None, str]:
    """The comment address the message was delivered to, and else any address at our domain.

    Looks at the envelope recipient (when the mail server passes it), then
    Delivered-To, X-Original-To, To and Cc, in that order.
    """
    sources = [envelope_recipient] if envelope_recipient else []
    for name in RECIPIENT_HEADERS:
        sources.extend(_raw_headers(message, name))
    other = ""
    for source in sources:
        for address in addresses_at(clean(source), domain):
            found = _COMMENT_LOCAL.match(address.rsplit("@", 1)[0])
            if found:
                return Target(address=address, slug=found.group("slug"), token=found.group("token") or ""), ""
            other = other or address
    return None, other


def decode_words(text: str) -> str:
    """RFC 2047 encoded words ("=?utf-8?q?Se=C3=A1n?=") to text, whatever their charset; never raises."""
    try:
        parts = email.header.decode_header(text)
    except Exception:
        return text
    return "".join(decode_bytes(value, charset) if isinstance(value, bytes) else value for value, charset in parts)


def _valid_address(address: str) -> bool:
    if not address or len(address) > MAX_ADDRESS or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    return bool(local and domain and "." in domain) and not re.search(r"[\s<>()\[\],;:\\\"]", address)


def find_sender(message: Message) -> tuple[str, str]:
    """The From address and display name (RFC 2047 and raw UTF-8 names decoded); raises Unreadable."""
    # The parsed header first; if the parser cannot make sense of it, the plain reading below.
    parsed = _try(lambda: [(a.display_name or "", a.addr_spec or "") for a in message["From"].addresses], [])
    candidates: list[tuple[str, str]] = list(parsed)
    for raw in _raw_headers(message, "From"):
        name, address = email.utils.parseaddr(raw)
        if address:
            candidates.append((decode_words(name), address))
    for name, address in candidates:
        address = clean(address, single_line=True).strip("<>")
        if _valid_address(address):
            local, domain = address.split("@")
            name = clean(name, single_line=True).strip("\"' ")
            if "@" in name:
                name = ""  # an address as a name would show it to readers
            return f"{local}@{domain.lower()}", name[:MAX_NAME].strip()
    raise Unreadable("The message has no sender address (From).")


def find_message_id(message: Message, raw: bytes) -> str:
    """The Message-ID; without one, a stable ID made from the message itself."""
    values = _raw_headers(message, "Message-ID")
    value = clean(values[0], single_line=True).replace(" ", "") if values else ""
    if value and len(value) <= MAX_MESSAGE_ID:
        return value
    if value:  # absurdly long: still the same message every time
        return f"<{hashlib.sha256(value.encode()).hexdigest()}@long-message-id.invalid>"
    return f"<{hashlib.sha256(_without_trace(raw)).hexdigest()}@no-message-id.invalid>"


_TRACE = re.compile(rb"^(received|return-path|delivered-to|x-original-to|envelope-to|x-envelope-to):", re.IGNORECASE)


def _without_trace(raw: bytes) -> bytes:
    """The message without the headers each delivery adds, so a redelivery hashes the same."""
    raw = raw.replace(b"\r\n", b"\n")
    head, separator, body = raw.partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = bool(_TRACE.match(line)) or line.startswith(b"From ")
        if not skipping:
            kept.append(line)
    return b"\n".join(kept) + separator + body


def header_text(message: Message, name: str) -> str:
    try:
        value = message[name]
    except Exception:
        values = _raw_headers(message, name)
        value = values[0] if values else None
    return clean(str(value), single_line=True) if value is not None else ""


def automatic(message: Message) -> str:
    """Why the message looks machine-made (RFC 3834 auto-replies, bounces), or ""."""
    submitted = header_text(message, "Auto-Submitted").lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = header_text(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if header_text(message, name):
            return f"{name} header"
    if _try(message.get_content_type, "") == "multipart/report":
        return "a delivery report"
    if header_text(message, "Return-Path") == "<>":
        return "a bounce (empty Return-Path)"
    return ""


# Subjects of out-of-office and other automatic answers that carry none of the headers above.
_AUTOMATIC_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|autoreply|out of (the )?office|away from|"
    r"abwesenheit|absence|r[ée]ponse automatique|respuesta autom[áa]tica|auto:)",
    re.IGNORECASE,
)


def looks_automatic(subject: str) -> bool:
    """An out-of-office answer by its subject: it may be kept, but it proves nobody wrote it."""
    return bool(_AUTOMATIC_SUBJECT.match(subject or ""))


# --- The body -------------------------------------------------------------------------


def _part_text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    text = clean(decode_bytes(data, _try(part.get_content_charset, None))).lstrip("\ufeff")
    if _try(part.get_content_subtype, "plain") == "html":
        return html_to_text(text)
    if str(_try(lambda: part.get_param("format"), "") or "").lower() == "flowed":
        text = unflow(text, delsp=str(_try(lambda: part.get_param("delsp"), "") or "").lower() == "yes")
    return text


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        name = clean(str(name), single_line=True)[:MAX_FILENAME]
    return name or ""


def _attachment_name(part: Message) -> str:
    return clean(_describe(part), single_line=True)[:MAX_FILENAME]


def _describe(part: Message) -> str:
    name = _filename(part)
    if name:
        return name
    if _try(part.get_content_type, "") == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        subject = header_text(inner, "Subject") if isinstance(inner, Message) else ""
        return f"a forwarded message ({subject})" if subject else "a forwarded message"
    return f"unnamed {_try(part.get_content_type, 'part')}"


def _is_attachment(part: Message) -> bool:
    disposition = str(_try(part.get_content_disposition, "") or "").lower()
    return disposition == "attachment" or (disposition == "inline" and bool(_filename(part)))


MAX_PARTS = 200  # a message of thousands of MIME parts is not a comment: stop reading there


class _Walk:
    """The body's text parts in order, and the names of every part left out."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.attachments: list[str] = []
        self.parts = 0

    def ignore(self, part: Message) -> None:
        self.attachments.append(_attachment_name(part))

    def visit(self, part: Message) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            if self.parts == MAX_PARTS + 1:
                self.attachments.append(f"(more than {MAX_PARTS} parts: the rest was not read)")
            return
        ctype = _try(part.get_content_type, "application/octet-stream")
        if ctype == "message/rfc822" or _is_attachment(part):
            return self.ignore(part)
        if part.is_multipart():
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            subtype = _try(part.get_content_subtype, "mixed")
            if subtype == "alternative" and children:
                self.visit(_best_alternative(children))  # the others say the same
            elif subtype == "related" and children:
                start = _try(lambda: part.get_param("start"), None)
                root = next((c for c in children if start and _try(lambda c=c: c["Content-ID"], None) == start), None)
                root = root or children[0]
                self.visit(root)
                for child in children:
                    if child is not root:
                        self.ignore(child)  # pictures of an HTML body, mostly
            else:
                for child in children:
                    self.visit(child)
            return None
        # A multipart that lost its boundary is read as text, as clients show it.
        if (ctype in ("text/plain", "text/html") or ctype.startswith("multipart/")) and not _filename(part):
            text = _part_text(part)
            if text.strip():
                self.texts.append(text)
            return None
        return self.ignore(part)


def _best_alternative(children: list[Message]) -> Message:
    """text/plain if it says something, else HTML, else whatever else is there."""
    by_type = {_try(child.get_content_type, ""): child for child in reversed(children)}
    plain = by_type.get("text/plain")
    if plain is not None and _part_text(plain).strip():
        return plain
    for candidate in children:
        if _try(candidate.get_content_type, "") == "text/html" or candidate.is_multipart():
            return candidate
    return plain if plain is not None else children[-1]  # (a Message with no headers is falsy)


def body_text(message: Message) -> tuple[str, tuple[str, ...]]:
    """The message's text (plain preferred, HTML made readable) and the names of what was ignored."""
    walk = _Walk()
    walk.visit(message)
    return "\n\n".join(text.strip("\n") for text in walk.texts), tuple(walk.attachments)


# --- All of it ------------------------------------------------------------------------

_REPLY_SUBJECT = re.compile(r"^\s*(re|aw|sv|vs|antw|rif)\s*(\[\d+\])?\s*:", re.IGNORECASE)


def read(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not message.keys():
        raise Unreadable("The input is not an email message (it has no headers).")
    return message


def parse(raw: bytes, domain: str, envelope_recipient: str = "") -> Parsed:
    """Everything receive_email needs from a message; raises Unreadable for what is not mail."""
    message = read(raw)
    sender_email, sender_name = find_sender(message)
    target, other = find_target(message, domain, envelope_recipient)
    subject = header_text(message, "Subject")
    is_reply = bool(
        (target and target.token)
        or header_text(message, "In-Reply-To")
        or header_text(message, "References")
        or _REPLY_SUBJECT.match(subject)
    )
    original, attachments = body_text(message)
    body, is_reply = strip_reply(original, is_reply=is_reply)
    return Parsed(
        message_id=find_message_id(message, raw),
        sender_email=sender_email,
        sender_name=sender_name,
        subject=subject,
        target=target,
        other_address=other,
        body=body,
        original=original,
        attachments=attachments,
        is_reply=is_reply,
        automatic=automatic(message),
    )
