"""What the customer will see of an agent's file: its name and its type."""

from __future__ import annotations

import pytest

from contactcenter.actions.uploads import clean_filename, content_type_of
from contactcenter.errors import InputError


@pytest.mark.parametrize(("given", "kept"), [
    ("report.pdf", "report.pdf"),
    ("C:\\Users\\ana\\Rechnung März.pdf", "Rechnung März.pdf"),  # old browsers send the path
    ("../../etc/passwd", "passwd"),
    ('a<b>:"c"|?.txt', "a_b_c_.txt"),
    ("tab\there\r\n.doc", "tabhere.doc"),
    ("Cafe\u0301.txt", "Café.txt"),  # one form of é, whatever the sender's OS wrote
    ("x" * 300 + ".xlsx", "x" * 140 + ".xlsx"),
])
def test_names_lose_paths_and_unsafe_characters(given: str, kept: str) -> None:
    assert clean_filename(given) == kept


@pytest.mark.parametrize("given", ["", "...", "C:\\dir\\", " / "])
def test_a_name_with_nothing_left_is_refused(given: str) -> None:
    with pytest.raises(InputError):
        clean_filename(given)


def test_the_declared_type_wins_unless_it_says_nothing() -> None:
    assert content_type_of("application/pdf", "x.bin") == "application/pdf"
    assert content_type_of("text/plain; charset=utf-8", "a.csv") == "text/plain"
    assert content_type_of("application/octet-stream", "a.csv") == "text/csv"
    assert content_type_of("not a type", "photo.JPG") == "image/jpeg"
    assert content_type_of(None, "no-extension") == "application/octet-stream"
