"""Practice Reporting Workbench: dental practice data to dentist-ready HTML reports.

import workbench
p = workbench.connect("demo:")
workbench.metrics.aging(p, as_of="2026-10-31")
"""

from workbench import demo, metrics, sources
from workbench.errors import WorkbenchError
from workbench.practice import Practice, connect

__version__ = "0.1.0"
__all__ = ["Practice", "WorkbenchError", "__version__", "connect", "demo", "metrics", "sources"]
