"""Whole numbers from text: ASCII digits only, and no longer than a column holds."""

from __future__ import annotations

import pytest

from contactcenter.numbers import whole_number


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), ("42", 42), ("007", 7), ("9" * 18, int("9" * 18)),
    ("", None), ("9" * 19, None), ("-1", None), ("+1", None), (" 1", None), ("1.0", None),
    ("\u00b2", None), ("\u0663", None), ("\uff11", None),  # superscript 2, Arabic-Indic 3, fullwidth 1
])
def test_whole_number(text: str, expected: int | None) -> None:
    assert whole_number(text) == expected


def test_a_shorter_limit() -> None:
    assert whole_number("65535", max_digits=5) == 65535
    assert whole_number("123456", max_digits=5) is None
