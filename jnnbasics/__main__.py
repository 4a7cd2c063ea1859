"""``python -m jnnbasics``: the same command line as the ``jnnbasics`` console script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
