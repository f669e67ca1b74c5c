"""Sources: one module per practice system, registered by URL scheme."""

from workbench.sources import ascend_api, demo, dentrix, opendental_api, opendental_sql  # register their schemes
from workbench.sources.base import Source, SourceInfo, open_source, register, schemes

__all__ = [
    "Source",
    "SourceInfo",
    "ascend_api",
    "demo",
    "dentrix",
    "open_source",
    "opendental_api",
    "opendental_sql",
    "register",
    "schemes",
]
