"""Where the workbench keeps things, and how a setting is resolved (environment first)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["CACHE_DIR_ENV", "cache_root"]

CACHE_DIR_ENV = "WORKBENCH_CACHE_DIR"


def cache_root(override: str | Path | None = None) -> Path:
    """The cache directory: ``override``, else $WORKBENCH_CACHE_DIR, else the user cache directory."""
    chosen = override or os.environ.get(CACHE_DIR_ENV) or platformdirs.user_cache_dir("workbench")
    return Path(chosen).expanduser().resolve()
