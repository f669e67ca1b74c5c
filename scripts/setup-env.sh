# Sourced by the other scripts: create .venv (once) and install the workbench into it.
#   source scripts/setup-env.sh base|dev      (always name one: a sourced script sees the caller's arguments)
# Set PYTHON to choose the interpreter (3.11 or newer); VENV to put the environment elsewhere.
set -euo pipefail
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
case "${1:-}" in
  base) extras="" ;;
  dev) extras="dev" ;;
  *) echo "usage: source scripts/setup-env.sh base|dev" >&2; return 2 ;;
esac
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: the workbench needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "setting up $VENV ..." >&2
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
stamp="$VENV/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing the workbench${extras:+ with $extras extras} and what it needs into $VENV (a few minutes the first time) ..." >&2
  # one line per package fetched (pip's own words); pip's exit status still decides (pipefail)
  "$VENV/bin/python" -m pip install -e ".${extras:+[$extras]}" 2>&1 | sed -n -E '/^(Collecting|Successfully|ERROR)/p' >&2
  touch "$stamp"
fi
export PATH="$PWD/$VENV/bin:$PATH"
