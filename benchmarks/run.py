"""Run the framework benchmark and judge it by the project's targets: ``python benchmarks/run.py``.

The same command line as ``jnnbasics bench`` (see ``benchmarks/README.md``), with
``--targets benchmarks/targets.json`` added unless another ``--targets FILE`` is given: the report
then ends with the table of targets, each with its measured value and whether it is met.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a clean clone, not installed

from jnnbasics.bench import main as bench_main  # noqa: E402

TARGETS = Path(__file__).resolve().parent / "targets.json"
"""The project's acceptance targets."""


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with ``argv`` (default ``sys.argv[1:]``), judged by :data:`TARGETS`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a == "--targets" or a.startswith("--targets=") for a in argv):
        argv += ["--targets", os.path.relpath(TARGETS)]
    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main())
