"""The plotly.js the reports embed and the Explorer's charts load: plotly's "basic" distribution.

It draws the trace types our charts use (bar, scatter, pie) and weighs 1.2 MB instead of the full bundle's
4.8 MB, so a self-contained report mails at about 1.3 MB. It is plotly.js from the npm package
``plotly.js-basic-dist-min`` (MIT, ``static/plotly-basic.LICENSE``), the version plotly.py bundles
(a test keeps the two in step).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["BUNDLE", "TRACE_TYPES", "plotly_js"]

BUNDLE = Path(__file__).with_name("static") / "plotly-basic.min.js"
TRACE_TYPES = frozenset({"bar", "scatter", "pie"})  # what the basic distribution draws


@cache
def plotly_js() -> str:
    return BUNDLE.read_text(encoding="utf-8")
