#!/usr/bin/env bash
# Fresh machine to HTML reports: set up .venv, generate the demo practice, write every report.
#   bash scripts/demo.sh [--out DIR] [--patients N] [--years Y] [--seed S]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh base
workbench demo "$@"
