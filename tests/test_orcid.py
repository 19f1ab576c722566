"""ORCID iDs: the ISO 7064 MOD 11-2 check character and normalising what people paste."""

import pytest

from forum.lib.orcid import checksum_digit, normalise_orcid

# Real iDs from ORCID's own documentation and support pages.
VALID = ["0000-0002-1825-0097", "0000-0001-5109-3700", "0000-0002-1694-233X"]


@pytest.mark.parametrize(
    ("first15", "check"),
    [("000000021825009", "7"), ("000000015109370", "0"), ("000000021694233", "X")],
)
def test_checksum_digit_matches_real_ids(first15, check):
    assert checksum_digit(first15) == check


@pytest.mark.parametrize("orcid", VALID)
def test_exactly_one_check_character_is_accepted(orcid):
    first15 = orcid.replace("-", "")[:15]
    accepted = [c for c in "0123456789X" if normalise_orcid(first15 + c) is not None]
    assert accepted == [orcid[-1]]


@pytest.mark.parametrize("orcid", VALID)
def test_a_canonical_id_is_returned_unchanged(orcid):
    assert normalise_orcid(orcid) == orcid


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0000000218250097", "0000-0002-1825-0097"),
        ("000000021694233X", "0000-0002-1694-233X"),
        ("0000-0002-1694-233x", "0000-0002-1694-233X"),
        ("000000021694233x", "0000-0002-1694-233X"),
        ("https://orcid.org/0000-0002-1825-0097", "0000-0002-1825-0097"),
        ("http://orcid.org/0000-0001-5109-3700", "0000-0001-5109-3700"),
        ("https://orcid.org/0000000151093700", "0000-0001-5109-3700"),
        ("HTTPS://ORCID.ORG/0000-0002-1694-233x", "0000-0002-1694-233X"),
        ("  0000-0002-1825-0097  ", "0000-0002-1825-0097"),
        ("\t0000-0002-1825-0097\n", "0000-0002-1825-0097"),
        ("\u00a0https://orcid.org/0000-0002-1825-0097\r\n", "0000-0002-1825-0097"),
    ],
    ids=[
        "no-hyphens",
        "no-hyphens-X",
        "lowercase-x",
        "no-hyphens-lowercase-x",
        "https-prefix",
        "http-prefix",
        "prefix-no-hyphens",
        "uppercase-url-and-x",
        "spaces",
        "tab-and-newline",
        "nbsp-and-crlf",
    ],
)
def test_it_normalises_what_people_paste(value, expected):
    assert normalise_orcid(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "0000-0002-1825-0098",  # wrong check digit
        "0000-0002-1825-0090",
        "0000-0002-1694-2330",  # X expected
        "0000-0001-5109-370X",  # 0 expected
        "0000-0002-1825-9007",  # transposed digits
        "0000-0002-1825-009",  # 15 characters
        "0000-0002-1825-00977",  # 17 characters
        "000000021825009",
        "00000002182500977",
        "0000-0002-1825",
        "0000-000A-1825-0097",  # letters
        "X000-0002-1825-0097",  # X only as the last character
        "0000-0002-1825-00X7",
        "abcd-efgh-ijkl-mnop",
        "0000-0002-1825-0097 extra",
        "0000-0002-1825-0097\n0000",
        "0000 0002 1825 0097",
        "0000--0002-1825-0097",
        "https://evil.example/0000-0002-1825-0097",
        "https://orcid.org.evil.example/0000-0002-1825-0097",
        "ftp://orcid.org/0000-0002-1825-0097",
        "",
        "   ",
        "-",
    ],
)
def test_it_rejects_invalid_ids(value):
    assert normalise_orcid(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "００００-０００２-１８２５-００９7",  # fullwidth digits, ASCII check digit
        "００００-０００２-１８２５-００９７",
        "००००-०००२-१८२५-००97",  # Devanagari digits
        "००००-०००२-१६९४-२३३X",  # Devanagari with an X check character
        "٠٠٠٠-٠٠٠٢-١٨٢٥-٠٠97",  # Arabic-Indic digits
    ],
    ids=["fullwidth", "fullwidth-check", "devanagari", "devanagari-X", "arabic-indic"],
)
def test_it_rejects_non_ascii_digits_that_look_like_an_id(value):
    # Regression: \d matched these, so a look-alike of someone else's iD was stored as valid.
    assert normalise_orcid(value) is None


def test_normalised_ids_are_plain_ascii():
    for value in [*VALID, "000000021694233x", "https://orcid.org/0000000218250097"]:
        result = normalise_orcid(value)
        assert result is not None
        assert result.isascii()
        assert len(result) == 19
