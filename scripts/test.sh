#!/usr/bin/env bash
# Fresh machine to a green test run: set up .venv with the dev extras, install and start the services the
# integration tests use (scripts/services.sh: apt-get as root), lint, type-check, run pytest.
#   bash scripts/test.sh [pytest args]
# WORKBENCH_REQUIRE_SERVICES=1 (set by CI) turns every skipped test into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-env.sh dev
export WORKBENCH_TEST_DB_PASSWORD="${WORKBENCH_TEST_DB_PASSWORD:-wb-test-only}"
echo "== services" && bash scripts/services.sh  # unixODBC, MariaDB ODBC driver, MariaDB, the test login
echo "== ruff" && ruff check workbench tests benchmarks && ruff format --check -q workbench tests benchmarks
echo "== mypy" && mypy
echo "== pytest" && python -m pytest "$@"
