"""Writing files so that a reader sees the old content or the new, never half of it."""

from __future__ import annotations

import uuid
from pathlib import Path

__all__ = ["folder", "write_atomically"]


def folder(path: Path, what: str) -> Path:
    """``path`` as a folder, made if missing; a file in its place (or no right to make it) is a UsageError."""
    from workbench.errors import UsageError

    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot make the {what} {path}: {exc.strerror}") from None
    return path


def write_atomically(path: Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) next to ``path`` under a temporary name, then rename it into place."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        partial.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path
