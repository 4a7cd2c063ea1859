"""Run the framework benchmark: ``python benchmarks/run.py [--quick] [--device cpu|gpu] ...``.

A thin wrapper around :func:`jnnbasics.bench.main`; see ``benchmarks/README.md``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a clean clone, not installed

from jnnbasics.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
