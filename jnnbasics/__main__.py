"""``python -m jnnbasics`` and the ``jnnbasics`` console script: the command line of ``jnnbasics.cli``."""

import os
import sys

from .cli import EXIT_INTERRUPTED, main


def entry() -> None:
    """Run :func:`jnnbasics.cli.main` and exit with its status.

    After Ctrl-C (status 130) the process ends without the interpreter's teardown: everything is
    saved by then (the checkpoint, the released lock), and XLA:CPU can crash in that teardown when
    the interrupt cut a compilation short (a segmentation fault instead of exit status 130).
    """
    code = main()
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
