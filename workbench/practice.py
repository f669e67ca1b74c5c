"""A connected practice: a source composed with its cache (``Practice(source, store)``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from workbench import model
from workbench.cache import CacheStore, Manifest
from workbench.config import cache_root
from workbench.sources.base import Progress, Source, cache_key, open_source

__all__ = ["Practice", "connect"]


class Practice:
    """Canonical frames of one practice, served from the cache and filled from the source."""

    def __init__(self, source: Source, store: CacheStore) -> None:
        self.source = source
        self.store = store
        self._frames: dict[str, pd.DataFrame] = {}

    def __repr__(self) -> str:
        return f"Practice({self.source.url!r})"

    @property
    def manifest(self) -> Manifest:
        """The cache's manifest, extracting first if nothing is cached."""
        return self.store.manifest() or self.refresh()

    @property
    def name(self) -> str:
        return self.manifest.practice_name or self.source.url

    @property
    def data_as_of(self) -> date:
        """The last day with data: the source's own, else the day of the extract."""
        manifest = self.manifest
        return date.fromisoformat(manifest.data_as_of or manifest.extracted_at[:10])

    def frame(self, name: str) -> pd.DataFrame:
        """One canonical table (a copy is not made: treat it as read-only)."""
        if name not in model.TABLES:
            model.empty_frame(name)  # raises SchemaError listing the known tables
        if name not in self._frames:
            if self.store.manifest() is None:
                self.refresh()
            self._frames[name] = self.store.load(name)
        return self._frames[name]

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every canonical table."""
        return {name: self.frame(name) for name in model.TABLES}

    def refresh(self, progress: Progress | None = None) -> Manifest:
        """Read every table from the source and replace the cache atomically."""
        info = self.source.info()
        frames = self.source.read(list(model.TABLES), progress=progress)
        manifest = self.store.save(
            frames,
            source=self.source.url,
            system=info.system,
            practice_name=info.practice_name,
            data_as_of=info.data_as_of.isoformat() if info.data_as_of else None,
        )
        self._frames = dict(frames)
        return manifest


def connect(url: str, cache_dir: str | Path | None = None) -> Practice:
    """Open the practice at ``url`` (see ``workbench sources``) with its cache under ``cache_dir``."""
    source = open_source(url)
    return Practice(source, CacheStore(cache_root(cache_dir), cache_key(source.url)))
