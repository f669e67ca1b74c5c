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
  echo "installing the workbench${extras:+ with $extras extras} into $VENV ..." >&2
  "$VENV/bin/python" -m pip install --quiet -e ".${extras:+[$extras]}"
  touch "$stamp"
fi
export PATH="$PWD/$VENV/bin:$PATH"
