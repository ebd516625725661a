"""Routing: the engine, its simulator and the service around it.

The engine, its model and its calendar are compiled by mypyc at install (setup.py). The
compiled modules are used only when built from these very sources: in an editable install whose
`engine.py` (say) was edited since, or with CC_ROUTING_PURE=1 set, the sources run instead, so
what runs is always what is read. `compiled()` says which.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

_HERE = Path(__file__).resolve().parent
_COMPILED = ("engine", "model", "calendar")


def _built_from_these_sources() -> bool:
    if os.environ.get("CC_ROUTING_PURE"):
        return False
    try:
        stamp = json.loads((_HERE / "compiled_from.json").read_text())
    except (OSError, ValueError):
        return False
    return all(stamp.get(f"routing/{name}.py")
               == hashlib.sha256((_HERE / f"{name}.py").read_bytes()).hexdigest()
               for name in _COMPILED)


class _Sources:
    """Finds the compiled modules' sources before the compiled modules (a meta path finder)."""

    @staticmethod
    def find_spec(fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        package, _, name = fullname.partition(".")
        if package != "routing" or name not in _COMPILED:
            return None
        return spec_from_file_location(fullname, _HERE / f"{name}.py")


if not _built_from_these_sources():
    sys.meta_path.insert(0, _Sources)


def compiled() -> bool:
    """Whether the routing engine that runs is the compiled one."""
    from routing import engine

    return not str(engine.__file__).endswith(".py")
