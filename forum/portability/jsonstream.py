"""Reading one large JSON object of arrays without holding it in memory.

The export is `{"header": {...}, "section": [record, record, ...], ...}`.
`Reader` walks that outline itself and hands over one record at a time,
each decoded by the standard library's decoder from a buffer that holds
little more than the record (any whitespace and line layout is accepted, so
a file reformatted by a tool still reads).
"""

import json
from collections.abc import Iterator
from typing import Any, TextIO

from .format import FormatError

CHUNK = 1 << 16
WHITESPACE = " \t\r\n"


class Reader:
    def __init__(self, stream: TextIO, chunk: int = CHUNK) -> None:
        self.stream = stream
        self.chunk = chunk
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.line = 1  # line number of buffer[0]
        self.decoder = json.JSONDecoder()

    # --- Buffer -----------------------------------------------------------------

    def _fill(self, at_least: int = 0) -> bool:
        """Read more; False at the end of the file. Forgets what was already parsed."""
        if self.eof:
            return False
        try:
            data = self.stream.read(max(self.chunk, at_least))
        except UnicodeDecodeError as error:
            raise FormatError(f"The file is not UTF-8 text near line {self.line}: {error.reason}.") from None
        if not data:
            self.eof = True
            return False
        self.line += self.buffer.count("\n", 0, self.pos)
        self.buffer = self.buffer[self.pos :] + data
        self.pos = 0
        return True

    def where(self, pos: int | None = None) -> str:
        pos = self.pos if pos is None else pos
        return f"line {self.line + self.buffer.count(chr(10), 0, pos)}"

    def peek(self) -> str:
        """The next character that is not whitespace, without taking it; "" at the end."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer) or not self._fill():
                return self.buffer[self.pos] if self.pos < len(self.buffer) else ""

    def expect(self, char: str, what: str) -> None:
        found = self.peek()
        if found != char:
            shown = repr(found) if found else "the end of the file"
            raise FormatError(f"Expected {what} at {self.where()}, found {shown}.")
        self.pos += 1

    def value(self) -> Any:
        """The next complete JSON value."""
        if not self.peek():
            raise FormatError("The file ends too early (is it complete?).")
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                # Cut off by the end of the buffer (read on), or wrong (stop at once,
                # without reading the rest of a large file into memory).
                incomplete = error.msg.startswith("Unterminated string") or error.pos >= len(self.buffer) - 6
                if incomplete and self._fill(at_least=2 * (len(self.buffer) - self.pos)):
                    continue
                if incomplete and self.eof:
                    raise FormatError("The file ends too early (is it complete?).") from None
                raise FormatError(f"The file is not valid JSON at {self.where(error.pos)}: {error.msg}.") from None
            if end == len(self.buffer) and self._fill():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value

    # --- The outline --------------------------------------------------------------

    def header(self) -> Any:
        """The first member of the top-level object, which must be called "header"."""
        if self.peek() != "{":
            raise FormatError("This is not a forum export: it does not start with a JSON object.")
        self.pos += 1
        if self.peek() != '"' or self.value() != "header":
            raise FormatError('This is not a forum export: its first member is not "header".')
        self.expect(":", "':' after \"header\"")
        return self.value()

    def sections(self) -> Iterator[tuple[str, Iterator[Any]]]:
        """After header(): each further member's name, and its array's items one by one.

        Each item iterator must be used up before asking for the next section.
        """
        while True:
            if self.peek() == "}":
                self.pos += 1
                if self.peek():
                    raise FormatError(f"There is something after the end of the export, at {self.where()}.")
                return
            self.expect(",", "',' or '}' after a section")
            if self.peek() != '"':
                raise FormatError(f"Expected a section name at {self.where()}.")
            name = self.value()
            self.expect(":", f"':' after {name!r}")
            self.expect("[", f"the list of {name!r}")
            items = self._items(name)
            yield name, items
            for _ in items:  # whatever the caller left
                pass

    def _items(self, name: str) -> Iterator[Any]:
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            found = self.peek()
            self.pos += 1
            if found == "]":
                return
            if found != ",":
                self.pos -= 1
                raise FormatError(f"Expected ',' or ']' in {name!r} at {self.where()}.")
