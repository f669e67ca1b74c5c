"""Sources: one module per practice system, registered by URL scheme and imported when a URL asks for it."""

from workbench.sources.base import Source, SourceInfo, open_source, register, schemes

__all__ = ["Source", "SourceInfo", "open_source", "register", "schemes"]
