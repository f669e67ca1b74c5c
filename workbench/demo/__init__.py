"""The built-in demo practice: a synthetic Open Dental database (SQLite) for trying the workbench."""

from workbench.demo.generator import GENERATE_STEPS, generate

__all__ = ["GENERATE_STEPS", "generate"]
