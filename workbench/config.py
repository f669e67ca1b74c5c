"""Where the workbench keeps things, and how a setting is resolved (environment first)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

__all__ = ["CACHE_DIR_ENV", "DEFAULT_BRAND_COLOR", "cache_root", "is_color"]

CACHE_DIR_ENV = "WORKBENCH_CACHE_DIR"
DEFAULT_BRAND_COLOR = "#0b5d8c"


def is_color(value: object) -> bool:
    """A report colour as the template takes it: ``#RRGGBB``."""
    return isinstance(value, str) and re.fullmatch(r"#[0-9A-Fa-f]{6}", value) is not None


def cache_root(override: str | Path | None = None) -> Path:
    """The cache directory: ``override``, else $WORKBENCH_CACHE_DIR, else the user cache directory."""
    chosen = override or os.environ.get(CACHE_DIR_ENV) or platformdirs.user_cache_dir("workbench")
    root = Path(chosen).expanduser().resolve()
    if root.exists() and not root.is_dir():
        from workbench.errors import UsageError

        raise UsageError(f"the cache directory {root} is a file, not a folder")
    return root
