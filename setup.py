"""Compiles the routing engine, its model and its calendar with mypyc at install: the same
source, about 1.7 times as fast (docs/routing.md, Benchmark). Optional on purpose: without a C
compiler, or with CC_ROUTING_PURE=1 set while installing, the package stays pure Python and
works the same. Everything else about the package is in pyproject.toml."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

COMPILED = ("routing/engine.py", "routing/model.py", "routing/calendar.py")
# Which sources the compiled modules were built from; routing/__init__.py runs the sources
# instead when they differ (an edited checkout in an editable install).
STAMP = Path("routing/compiled_from.json")


class OptionalBuildExt(build_ext):
    """A compilation that fails leaves the pure Python modules to run, with a warning."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python headers
            STAMP.unlink(missing_ok=True)
            print(f"warning: routing engine not compiled ({exc}); it runs as pure Python",
                  file=sys.stderr)


def extensions() -> list[Any]:
    STAMP.unlink(missing_ok=True)
    if os.environ.get("CC_ROUTING_PURE"):
        return []
    from mypyc.build import mypycify

    STAMP.write_text(json.dumps(
        {path: hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in COMPILED},
        indent=1) + "\n")
    return list(mypycify(list(COMPILED), opt_level="3", group_name="routing_compiled"))


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
