"""The demo practice: generated on first use into the cache directory, then read as Open Dental."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from workbench.config import cache_root
from workbench.demo import generate
from workbench.errors import UsageError
from workbench.sources.base import parse_query, register
from workbench.sources.opendental_sql import OpenDentalSQL, sqlite_source

__all__ = ["demo_database", "demo_source"]

DEFAULTS = {"patients": 2000, "years": 3, "seed": 7}


def _int_option(query: dict[str, str], name: str) -> int:
    raw = query.get(name, str(DEFAULTS[name]))
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"demo: option {name} must be a whole number, got {raw!r}") from None
    lowest = 0 if name == "seed" else 1  # any seed, but at least one patient and one year
    if value < lowest or value > 1_000_000:
        raise UsageError(f"demo: option {name} must be between {lowest} and 1000000, got {value}")
    return value


def _options(url: str) -> tuple[int, int, int, date]:
    query = parse_query(url, [*DEFAULTS, "end"])
    patients, years, seed = (_int_option(query, k) for k in DEFAULTS)
    try:
        end = date.fromisoformat(query["end"]) if "end" in query else date.today()
    except ValueError:
        raise UsageError(f"demo: option end must be a date YYYY-MM-DD, got {query['end']!r}") from None
    return patients, years, seed, end


def demo_database(url: str = "demo:", progress: Callable[[str], None] | None = None) -> Path:
    """The demo practice's Open Dental database file for ``url``, generated on first use (``progress``: called
    as each step of the generation begins, see ``workbench.demo.GENERATE_STEPS``)."""
    patients, years, seed, end = _options(url)
    path = cache_root() / "demo" / f"demo-p{patients}-y{years}-s{seed}-{end.isoformat()}.db"
    if not path.exists():
        generate(path, patients=patients, years=years, seed=seed, end=end, progress=progress)
    return path


def demo_source(url: str = "demo:") -> OpenDentalSQL:
    """``demo:?patients=N&years=Y&seed=S&end=YYYY-MM-DD`` (end defaults to today)."""
    patients, years, seed, end = _options(url)
    canonical = f"demo:?patients={patients}&years={years}&seed={seed}&end={end.isoformat()}"
    return sqlite_source(demo_database(url), url=canonical, system="Demo practice (Open Dental schema)", data_as_of=end)


register(
    "demo",
    demo_source,
    "built-in synthetic practice (Open Dental schema), generated on first use",
    "demo:?patients=2000&years=3&seed=7",
)
