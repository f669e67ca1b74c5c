"""Practice Reporting Workbench: dental practice data to dentist-ready HTML reports.

import workbench
p = workbench.connect("demo:")
workbench.metrics.aging(p, as_of="2026-10-31")
"""

import sys

# jsonschema builds a grammar for IRI formats (rfc3987-syntax, 0.7 s) when anything imports nbformat; no
# notebook or report of ours validates such a format, so every process that imports the workbench (the CLI,
# report kernels, batch workers) skips it: jsonschema then leaves that one format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from workbench import demo, metrics, sources  # noqa: E402
from workbench.errors import WorkbenchError  # noqa: E402
from workbench.practice import Practice, connect  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Practice", "WorkbenchError", "__version__", "connect", "demo", "metrics", "sources"]
