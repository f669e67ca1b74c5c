"""The Source protocol and the registry of sources keyed by URL scheme."""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

import pandas as pd

from workbench.errors import SourceError, UnknownSchemeError, UsageError

__all__ = [
    "Progress",
    "Scheme",
    "Source",
    "SourceInfo",
    "cache_key",
    "completed",
    "lookup",
    "open_source",
    "parse_query",
    "register",
    "schemes",
    "stored_aging_frame",
]

T = TypeVar("T")

Progress = Callable[[str, int], None]
"""Called after each table is read: (table name, rows)."""


@dataclass(frozen=True)
class SourceInfo:
    """What a source says about the practice behind it."""

    system: str  # e.g. "Open Dental (SQLite)"
    practice_name: str | None = None
    data_as_of: date | None = None  # last day with data, where the source knows it (the demo does)


class Source(Protocol):
    """A practice system mapped to canonical frames."""

    @property
    def url(self) -> str:
        """The source URL as it may be shown: secrets masked."""
        ...

    def info(self) -> SourceInfo: ...

    def read(self, tables: Sequence[str], progress: Progress | None = None) -> dict[str, pd.DataFrame]:
        """Read the named canonical tables, conformed to ``workbench.model``."""
        ...


@dataclass(frozen=True)
class Scheme:
    name: str
    description: str
    example: str
    factory: Callable[[str], Source]


_SCHEMES: dict[str, Scheme] = {}
_MODULES = {  # scheme -> the module of workbench.sources that registers it when imported (only when asked for)
    "ascend+api": "ascend_api",
    "demo": "demo",
    "dentrix+odbc": "dentrix",
    "opendental+api": "opendental_api",
    "opendental+odbc": "opendental_sql",
    "opendental+sqlite": "opendental_sql",
}


def register(name: str, factory: Callable[[str], Source], description: str, example: str) -> None:
    """Make ``factory(url)`` the source for URLs starting with ``name:``."""
    _SCHEMES[name] = Scheme(name, description, example, factory)


def schemes() -> list[Scheme]:
    """Registered schemes, sorted by name."""
    for scheme in _MODULES:
        _import(scheme)
    return [_SCHEMES[k] for k in sorted(_SCHEMES)]


def _import(scheme: str) -> None:
    """Import the module behind a built-in scheme (a report kernel imports only its own source's client)."""
    if scheme in _MODULES and scheme not in _SCHEMES:
        importlib.import_module(f"workbench.sources.{_MODULES[scheme]}")


def open_source(url: str) -> Source:
    """The source for ``url``; an unknown scheme raises an error listing the known ones."""
    scheme = url.split(":", 1)[0] if ":" in url else ""
    _import(scheme)
    if scheme not in _SCHEMES:
        known = ", ".join(f"{s.name}:" for s in schemes())
        shown = f"'{scheme}:'" if scheme else f"in {url!r} (no scheme)"
        raise UnknownSchemeError(f"unknown source scheme {shown}; known schemes: {known}")
    return _SCHEMES[scheme].factory(url)


def cache_key(*parts: str) -> str:
    """A stable, filesystem-safe directory name for a source (readable prefix + hash)."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts[:-1] or parts)).strip("-")[:40]
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:10]
    return f"{readable}-{digest}" if readable else digest


def stored_aging_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """A system's stored family aging with ``metrics.aging``'s column names: money as float, key as Int64."""
    out = raw.astype({c: "float64" for c in raw.columns if c != "guarantor_id"})
    out["guarantor_id"] = pd.to_numeric(raw["guarantor_id"]).astype("Int64")
    return out.sort_values("guarantor_id", ignore_index=True)


def lookup(values: pd.Series, mapping: Mapping[str, Any], what: str, system: str) -> pd.Series:
    """A system's enum names mapped through ``mapping``; a name it lacks is a SourceError listing them."""
    mapped = values.map(mapping)
    unknown = mapped.isna() & values.notna()
    if unknown.any():
        raise SourceError(f"{system}: unknown {what} {sorted(set(values[unknown].astype(str)))}")
    return mapped


def parse_query(url: str, allowed: Iterable[str]) -> dict[str, str]:
    """The ``?a=1&b=2`` part of a URL; an unknown key is a UsageError naming the allowed ones."""
    from urllib.parse import parse_qsl, urlsplit

    allowed = list(allowed)
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        scheme = url.split(":", 1)[0]  # the URL itself is not echoed: a mistyped option may hold a secret
        raise UsageError(f"{scheme}: unknown option(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return query


def completed(value: T) -> Future[T]:
    """A future that already holds ``value`` (for sources that do at once what others do in the background)."""
    future: Future[T] = Future()
    future.set_result(value)
    return future
