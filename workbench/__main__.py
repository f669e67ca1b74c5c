"""``python -m workbench`` and the ``workbench`` console script."""

import sys

from workbench.cli import main


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
