"""A report notebook's parameters: the names and defaults its ``parameters`` cell assigns, the choices some
of them take, and options given as text (``workbench report aging --set proc_lifo=true``) typed like them."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.errors import UsageError

__all__ = ["CHOICES", "FIXED", "parameter_defaults", "typed_options"]

# parameters that take one of a few values
CHOICES: dict[str, list[str]] = {
    "write_offs": ["payment_date", "procedure_date"],
    "attribution": ["treating", "primary"],
    "balances": ["all", "owing", "credit"],
    "by": ["family", "patient"],
}
# set by the workbench itself (or by their own command-line options), never by --set
FIXED = {"source", "cache_dir", "interactive", "redact", "as_of", "start", "end"}


def parameter_defaults(notebook: Path) -> dict[str, Any]:
    """Name -> default of each parameter the notebook's ``parameters`` cell assigns, in order."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]  # our own notebooks: no schema check
    cell = next(c for c in cells if c["cell_type"] == "code" and "parameters" in c["metadata"].get("tags", []))
    source = cell["source"]
    out: dict[str, Any] = {}
    for node in ast.parse(source if isinstance(source, str) else "".join(source)).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = ast.literal_eval(node.value)
    return out


def typed_options(report: str, defaults: Mapping[str, Any], given: Sequence[str]) -> dict[str, Any]:
    """``name=value`` options for a report, each checked against its parameters and typed like its default."""
    out: dict[str, Any] = {}
    settable = [n for n in defaults if n not in FIXED]
    for item in given:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or name not in settable:
            raise UsageError(f"--set {item!r}: the {report} report's options are {', '.join(settable)} (as name=value)")
        out[name] = _typed(name, text, defaults[name])
    return out


def _typed(name: str, text: str, default: Any) -> Any:
    if name in CHOICES and text not in CHOICES[name]:
        raise UsageError(f"{name} must be one of {', '.join(CHOICES[name])}, got {text!r}")
    if isinstance(default, bool):
        if text.lower() in ("true", "yes", "1", "on"):
            return True
        if text.lower() in ("false", "no", "0", "off"):
            return False
        raise UsageError(f"{name} must be true or false, got {text!r}")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"{name} must be a whole number, got {text!r}") from None
    if isinstance(default, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(default, dict):  # name:number pairs, e.g. targets=ar_over_90_pct:12,collection_pct:99
        out = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, _, value = part.partition(":")
            try:
                out[key.strip()] = float(value)
            except ValueError:
                raise UsageError(f"{name} must be name:number pairs, e.g. ar_over_90_pct:12, got {part!r}") from None
        return out
    return text
