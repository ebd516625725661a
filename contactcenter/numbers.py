"""Whole numbers typed by people or sent by clients.

`str.isdigit()` alone lets through "²" or "٣" (digits to Unicode, not to `int`, or not ours) and
numbers longer than any column holds; every place that reads a count, a port or an id from text
asks here instead, so each says no the same way rather than failing inside.
"""

from __future__ import annotations

# Ids are PostgreSQL bigints: 18 digits always fit.
ID_DIGITS = 18


def whole_number(text: str, *, max_digits: int = ID_DIGITS) -> int | None:
    """The number `text` spells in ASCII digits only, or None."""
    if not text or len(text) > max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
