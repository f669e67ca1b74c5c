"""The practices file: every practice a consultant reports on, in one TOML file.

    [[practice]]
    name = "maple-grove"                      # letters, digits, - and _: it names the output folder
    source = "opendental+odbc:DSN=MapleGrove;UID=reader?password_env=MAPLE_GROVE_DB_PASSWORD"
    reports = ["aging", "production", "recall"]   # default: every report
    color = "#1f6f4a"                         # optional branding
    logo = "logos/maple-grove.png"            # relative to the practices file
    redact = false
    schedule = "0 6 1 * *"                    # cron (used by `workbench schedule`); optional
    timezone = "America/Chicago"
    email = ["dr.smith@example.com"]          # who receives the reports (batch --send, scheduled runs)
    attach = "html"                           # or "pdf" (printed by Chromium) or "both"
    api_allowance = { calls = 30000, gb = 3 } # API calls and GB a month included (default: Dentrix Ascend's)

Credentials are references only (``password_env`` / ``password_keyring`` in the source URL), never secrets.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from workbench.config import DEFAULT_BRAND_COLOR, is_color
from workbench.errors import UsageError
from workbench.metrics.attention import with_targets
from workbench.secrets import holds_password
from workbench.usage import ASCEND_ALLOWANCE, Allowance

__all__ = ["PRACTICES_ENV", "PracticeConfig", "default_practices_file", "load_practices"]

PRACTICES_ENV = "WORKBENCH_PRACTICES"
KEYS = {
    "name",
    "source",
    "reports",
    "color",
    "logo",
    "redact",
    "schedule",
    "timezone",
    "title",
    "targets",
    "email",
    "attach",
    "api_allowance",
}
ATTACH = ("html", "pdf", "both")
ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


@dataclass(frozen=True)
class PracticeConfig:
    name: str
    source: str
    reports: tuple[str, ...] = ("aging", "production", "recall", "claims", "treatment", "patients")
    color: str = DEFAULT_BRAND_COLOR
    logo: Path | None = None
    redact: bool = False
    schedule: str | None = None
    timezone: str = "UTC"
    title: str | None = None
    targets: dict[str, float] = field(default_factory=dict)  # the practice's own goals (metrics.DEFAULT_TARGETS)
    email: tuple[str, ...] = ()  # who receives the practice's reports (``batch --send``)
    attach: str = "html"  # the reports as "html", "pdf" (printed by Chromium) or "both"
    api_allowance: Allowance = ASCEND_ALLOWANCE  # calls and data a month included, price beyond (REST sources)
    extra: dict[str, object] = field(default_factory=dict)


def default_practices_file() -> Path:
    """$WORKBENCH_PRACTICES, else practices.toml in the current directory."""
    return Path(os.environ.get(PRACTICES_ENV, "practices.toml"))


def load_practices(path: str | Path | None = None) -> list[PracticeConfig]:
    """Read and check the practices file; every error names the practice and the key."""
    from workbench.reports import REPORTS

    file = Path(path) if path else default_practices_file()
    try:
        raw = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise UsageError(f"no practices file at {file} (set --practices or ${PRACTICES_ENV})") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read the practices file {file}: {exc}") from None
    entries = raw.get("practice")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{file}: no [[practice]] entries")
    seen: set[str] = set()
    practices = []
    for index, entry in enumerate(entries, start=1):
        label = f"{file}: practice #{index}" + (f" ({entry.get('name')})" if isinstance(entry.get("name"), str) else "")
        unknown = sorted(set(entry) - KEYS)
        if unknown:
            raise UsageError(f"{label}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}")
        name = entry.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise UsageError(f"{label}: name must be letters, digits, - or _ (it names the output folder)")
        if name in seen:
            raise UsageError(f"{label}: name {name!r} is used twice")
        seen.add(name)
        source = entry.get("source")
        if not isinstance(source, str) or ":" not in source:
            raise UsageError(f"{label}: source must be a practice URL, e.g. demo: (see `workbench sources`)")
        if holds_password(source):
            raise UsageError(f"{label}: source holds a password; name an environment variable with password_env=")
        reports = entry.get("reports", list(REPORTS))
        if not isinstance(reports, list) or not reports or any(r not in REPORTS for r in reports):
            raise UsageError(f"{label}: reports must be a list from {', '.join(REPORTS)}")
        color = entry.get("color", DEFAULT_BRAND_COLOR)
        if not is_color(color):
            raise UsageError(f"{label}: color must look like {DEFAULT_BRAND_COLOR}")
        logo = entry.get("logo")
        logo_path = (file.parent / logo).resolve() if isinstance(logo, str) else None
        if logo is not None and (logo_path is None or not logo_path.is_file()):
            raise UsageError(f"{label}: logo {logo!r} is not a file")
        schedule = entry.get("schedule")
        if schedule is not None and (not isinstance(schedule, str) or not croniter.is_valid(schedule)):
            raise UsageError(f'{label}: schedule must be a cron expression, e.g. "0 6 1 * *"')
        zone = str(entry.get("timezone", "UTC"))
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"{label}: timezone {zone!r} is not a known time zone, e.g. America/Chicago") from None
        targets = entry.get("targets", {})
        if not isinstance(targets, dict):
            raise UsageError(f"{label}: targets must be a table, e.g. targets = {{ ar_over_90_pct = 12 }}")
        try:
            with_targets(targets)
        except UsageError as exc:
            raise UsageError(f"{label}: {exc}") from None
        email = entry.get("email", [])
        if isinstance(email, str):
            email = [email]
        if not isinstance(email, list) or not all(isinstance(a, str) and ADDRESS.match(a) for a in email):
            raise UsageError(f'{label}: email must be a list of addresses, e.g. email = ["dr.smith@example.com"]')
        attach = entry.get("attach", "html")
        if attach not in ATTACH:
            raise UsageError(f"{label}: attach must be one of {', '.join(ATTACH)}, got {attach!r}")
        allowance = entry.get("api_allowance", {})
        try:
            if not isinstance(allowance, dict):
                raise TypeError
            api_allowance = Allowance(**{**ASCEND_ALLOWANCE.__dict__, **allowance})
            if min(api_allowance.calls, api_allowance.gb, api_allowance.per_call, api_allowance.per_gb) < 0:
                raise ValueError
        except (TypeError, ValueError):
            raise UsageError(
                f"{label}: api_allowance must be a table of calls, gb, per_call, per_gb (numbers of 0 or more), "
                "e.g. api_allowance = { calls = 30000, gb = 3 }"
            ) from None
        practices.append(
            PracticeConfig(
                name=name,
                source=source,
                reports=tuple(reports),
                color=color,
                logo=logo_path,
                redact=bool(entry.get("redact", False)),
                schedule=schedule,
                timezone=zone,
                title=entry.get("title"),
                targets={k: float(v) for k, v in targets.items()},
                email=tuple(email),
                attach=attach,
                api_allowance=api_allowance,
            )
        )
    return practices
