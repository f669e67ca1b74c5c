"""Practice Reporting Workbench: dental practice data to dentist-ready HTML reports.

import workbench
p = workbench.connect("demo:")
workbench.metrics.aging(p, as_of="2026-10-31")
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# jsonschema builds a grammar for IRI formats (rfc3987-syntax, 0.7 s) when anything imports nbformat; no
# notebook or report of ours validates such a format, so every process that imports the workbench (the CLI,
# report kernels, batch workers) skips it: jsonschema then leaves that one format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
# numpy asks Linux for transparent huge pages for every array of 4 MB or more; where THP defragmentation is
# "madvise" (Debian's default) such a fault may first compact memory. In a report's kernel that cost 0.4-1.3 s
# of system time, varying from run to run (0.65 s steady without). Set before numpy is imported (it reads it
# then), for this process and the kernels and workers it starts; a value the user set is kept.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

from workbench import metrics, sources  # noqa: E402
from workbench.errors import WorkbenchError  # noqa: E402
from workbench.practice import Practice, connect  # noqa: E402

if TYPE_CHECKING:
    from workbench import demo
    from workbench.groups import Group

__version__ = "0.1.0"
__all__ = ["Practice", "WorkbenchError", "__version__", "connect", "demo", "group", "metrics", "sources"]


def __getattr__(name: str) -> object:
    """``workbench.demo`` (the demo generator) is imported when first used: a report kernel never needs it."""
    if name == "demo":
        import importlib

        return importlib.import_module("workbench.demo")
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def group(
    practices: str | Path | None = None, cache_dir: str | Path | None = None, only: Sequence[str] | None = None
) -> Group:
    """Every practice of a practices file together (``workbench.groups.Group``): frames with a ``practice``
    column, SQL over them, the group report's figures."""
    from workbench import groups

    return groups.group(practices, cache_dir, only)
