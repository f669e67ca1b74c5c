"""Sources: one module per practice system, registered by URL scheme."""

from workbench.sources import demo, dentrix, opendental_sql  # register their schemes
from workbench.sources.base import Source, SourceInfo, open_source, register, schemes

__all__ = ["Source", "SourceInfo", "demo", "dentrix", "open_source", "opendental_sql", "register", "schemes"]
