"""ORCID iDs: format and ISO 7064 MOD 11-2 checksum."""

import re

# ASCII only: without re.ASCII, \d also matched fullwidth and Devanagari digits,
# and "００００-０００２-１８２５-００９7" passed, looking just like a real iD.
_ORCID = re.compile(
    r"(?:https?://orcid\.org/)?([0-9]{4})-?([0-9]{4})-?([0-9]{4})-?([0-9]{3}[0-9X])",
    re.IGNORECASE | re.ASCII,
)


def checksum_digit(base_digits: str) -> str:
    """The check character for the first 15 digits of an ORCID iD."""
    total = 0
    for digit in base_digits:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def normalise_orcid(value: str) -> str | None:
    """Return the iD as 0000-0000-0000-0000, or None if it is not a valid iD."""
    match = _ORCID.fullmatch(value.strip())
    if not match:
        return None
    digits = "".join(match.groups()).upper()
    if checksum_digit(digits[:15]) != digits[15]:
        return None
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))
