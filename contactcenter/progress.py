"""A progress bar for long CLI work, on stderr so that stdout stays clean for results."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

WIDTH = 30


def progress_bar(label: str, stream: TextIO | None = None) -> Callable[[float], None]:
    """Returns a callback taking the fraction done (0..1). On a terminal the bar redraws in
    place; elsewhere (logs, CI) a line is printed every 10 % so the output stays readable."""
    out = stream or sys.stderr
    interactive = out.isatty()
    last = -1

    def update(fraction: float) -> None:
        nonlocal last
        percent = int(max(0.0, min(1.0, fraction)) * 100)
        step = percent if interactive else percent // 10 * 10
        if step == last:
            return
        last = step
        filled = WIDTH * percent // 100
        bar = f"{label} [{'#' * filled}{'.' * (WIDTH - filled)}] {percent:3d}%"
        if interactive:
            out.write("\r" + bar + ("\n" if percent == 100 else ""))
        else:
            out.write(bar + "\n")
        out.flush()

    return update
