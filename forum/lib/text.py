"""Person-supplied text shown inline (names, affiliations): one line, no characters that change its direction.

A display name ending in U+202E (RIGHT-TO-LEFT OVERRIDE) would reverse the
affiliation and date printed after it; a tab or newline would break the line
it is shown on. Such characters are taken out when the text is typed in, and
templates also isolate it (`<bdi>`), so old or imported text cannot do it either.
"""

import unicodedata

from django import forms

# Explicit direction marks, embeddings, overrides and isolates (Unicode's bidi formatting characters).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(text: str) -> str:
    """The text without bidi controls, with control characters as spaces, and single spaces."""
    kept = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text if char not in BIDI_CONTROLS)
    return " ".join(kept.split())


class OneLineField(forms.CharField):
    """A name or affiliation: cleaned by `one_line` (so a name of direction marks alone is missing)."""

    def to_python(self, value):
        return one_line(super().to_python(value))
