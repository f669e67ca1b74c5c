"""One exception tree for the whole workbench.

    WorkbenchError                 base; the CLI prints ``error: <message>`` and exits 2
    ├── UsageError                 bad argument: a date, a period, a report name
    ├── SourceError                a practice system could not be read
    │   ├── UnknownSchemeError     URL scheme not registered (lists the known ones)
    │   └── SourceNotFoundError    the database file or server is not there
    ├── SchemaError                a frame breaks the canonical model (names table and column)
    ├── CacheError                 the on-disk cache is unreadable or missing
    ├── ReportError                a notebook failed to execute or export
    └── DeliveryError              a message could not be sent (the SMTP server refused or was not there)

Lower layers (sqlite3, pyodbc, httpx, papermill) raise their own errors; each boundary translates
them into one of these, so callers catch ``WorkbenchError`` only.
"""

from __future__ import annotations

__all__ = [
    "CacheError",
    "DeliveryError",
    "ReportError",
    "SchemaError",
    "SourceError",
    "SourceNotFoundError",
    "UnknownSchemeError",
    "UsageError",
    "WorkbenchError",
]


class WorkbenchError(Exception):
    """Base class: every error the workbench means to show a user."""

    exit_code = 2


class UsageError(WorkbenchError):
    """An argument is malformed or inconsistent (bad date, start after end, unknown report)."""


class SourceError(WorkbenchError):
    """A practice system could not be reached or read."""


class UnknownSchemeError(SourceError):
    """The source URL's scheme is not registered."""


class SourceNotFoundError(SourceError):
    """The source's file or server does not exist."""


class SchemaError(WorkbenchError):
    """A frame does not conform to the canonical model."""


class CacheError(WorkbenchError):
    """The cache is missing or unreadable."""


class ReportError(WorkbenchError):
    """A report notebook failed to execute or to export."""


class DeliveryError(WorkbenchError):
    """A message could not be sent: the mail server refused it, or could not be reached."""
