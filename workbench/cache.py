"""The on-disk cache: each practice's canonical frames as Parquet files plus a manifest.

Layout under the cache root::

    <key>/manifest.json            which snapshot is current, and what it holds
    <key>/<snapshot>/<table>.parquet

A refresh writes a complete new snapshot directory first and then replaces ``manifest.json`` in one
atomic rename; only after that are older snapshots removed. A refresh that fails or is interrupted at
any point therefore leaves the previous cache whole and current.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from workbench import model
from workbench.errors import CacheError

__all__ = ["CacheStore", "Manifest"]

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    """What a cached snapshot holds and where it came from (never a secret)."""

    source: str
    system: str
    practice_name: str | None
    extracted_at: str  # ISO 8601, UTC
    data_as_of: str | None  # ISO date: last day with data, where the source knows it
    schema_version: int
    snapshot: str
    rows: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls(**json.loads(text))


class CacheStore:
    """Parquet snapshots of one practice's canonical frames, with atomic replacement."""

    def __init__(self, root: Path, key: str) -> None:
        self.dir = Path(root) / key

    def manifest(self) -> Manifest | None:
        """The current manifest, or None when nothing usable is cached (absent or older schema)."""
        path = self.dir / MANIFEST
        if not path.exists():
            return None
        try:
            manifest = Manifest.from_json(path.read_text())
        except (ValueError, TypeError) as exc:
            raise CacheError(f"unreadable cache manifest {path}: {exc}") from None
        if manifest.schema_version != model.SCHEMA_VERSION:
            return None
        return manifest

    def load(self, table: str) -> pd.DataFrame:
        """One cached canonical frame."""
        manifest = self.manifest()
        if manifest is None or table not in manifest.rows:
            raise CacheError(f"table {table!r} is not in the cache at {self.dir}; refresh first")
        path = self.dir / manifest.snapshot / f"{table}.parquet"
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise CacheError(f"cannot read cached {table} at {path}: {exc}") from None
        return model.conform(table, frame)

    def save(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        source: str,
        system: str,
        practice_name: str | None,
        data_as_of: str | None,
    ) -> Manifest:
        """Write ``frames`` as a new snapshot and make it current, atomically."""
        for name, frame in frames.items():
            model.validate(name, frame)
        self.dir.mkdir(parents=True, exist_ok=True)
        snapshot = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        staging = self.dir / f".{snapshot}.partial"
        staging.mkdir()
        try:
            for name, frame in frames.items():
                frame.to_parquet(staging / f"{name}.parquet", index=False)
            staging.rename(self.dir / snapshot)
            manifest = Manifest(
                source=source,
                system=system,
                practice_name=practice_name,
                extracted_at=datetime.now(UTC).isoformat(timespec="seconds"),
                data_as_of=data_as_of,
                schema_version=model.SCHEMA_VERSION,
                snapshot=snapshot,
                rows={name: len(frame) for name, frame in frames.items()},
            )
            tmp = self.dir / f".{MANIFEST}.{snapshot}.partial"
            tmp.write_text(json.dumps(asdict(manifest), indent=2))
            tmp.replace(self.dir / MANIFEST)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._remove_stale(keep=snapshot)
        return manifest

    def _remove_stale(self, keep: str) -> None:
        for child in self.dir.iterdir():
            if child.is_dir() and child.name != keep:
                shutil.rmtree(child, ignore_errors=True)
