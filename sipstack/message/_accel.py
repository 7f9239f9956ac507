"""Loads the optional C accelerator of the message layer (``_speedups.c``).

``SPEEDUPS`` is the extension module, or None when it was not built (no
compiler at install time) or ``SIPSTACK_NO_EXTENSIONS`` is set in the
environment; the pure-Python parser then gives the same results.
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["SPEEDUPS"]


def _load() -> ModuleType | None:
    if os.environ.get("SIPSTACK_NO_EXTENSIONS"):
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    return _speedups


SPEEDUPS = _load()
