"""The built-in demo practice: a synthetic Open Dental database (SQLite) for trying the workbench."""

from workbench.demo.generator import generate

__all__ = ["generate"]
