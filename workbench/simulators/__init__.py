"""Simulators of the practice systems' REST APIs, served over real HTTP, for tests and for trying clients.

``opendental_api.app`` follows the Open Dental API contract, ``ascend_api.app`` Dentrix Ascend's; both
serve an Open Dental database file (the demo practice), check credentials, cap page sizes, throttle
like the real services, and inject faults on request (``faults``). ``serve`` runs one under uvicorn.
"""

from pathlib import Path

from workbench.errors import SourceNotFoundError, UsageError
from workbench.simulators.faults import Fault, FaultPlan, parse_fault
from workbench.simulators.server import serve

__all__ = ["Fault", "FaultPlan", "database_for", "parse_fault", "serve"]


def database_for(url: str) -> Path:
    """The Open Dental database file a simulator serves: a ``demo:`` URL or ``opendental+sqlite:///path``."""
    from workbench.sources.demo import demo_database

    if url.startswith("demo:"):
        return demo_database(url)
    if url.startswith("opendental+sqlite:"):
        path = Path(url.split(":", 1)[1].removeprefix("//")).expanduser()
        if not path.is_file():
            raise SourceNotFoundError(f"no Open Dental database file at {path}")
        return path
    raise UsageError(f"a simulator serves a demo: or opendental+sqlite: practice, not {url!r}")
