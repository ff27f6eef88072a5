"""The function's own modules (handler/), imported by the exporter to read, check and prove what it deploys."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HANDLER_DIR = Path(__file__).resolve().parents[2] / "handler"


def handler_modules(*names: str) -> list:
    """The function's own modules, imported from handler/ (they need numpy only)."""
    sys.path.insert(0, str(HANDLER_DIR))
    try:
        return [importlib.import_module(name) for name in names]
    finally:
        sys.path.remove(str(HANDLER_DIR))
