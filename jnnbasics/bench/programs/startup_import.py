"""Time ``import MODULE`` in a fresh interpreter: ``python startup_import.py jnnbasics``.

Prints ``{"import_s": seconds}``.
"""

import argparse
import importlib
import json
import sys
import time


def main(argv: list[str]) -> None:
    """Import the module named on the command line and print the seconds it took."""
    p = argparse.ArgumentParser(description="time one import in this interpreter")
    p.add_argument("module", help="dotted module name, e.g. jnnbasics or torch")
    module = p.parse_args(argv).module
    t0 = time.perf_counter()
    importlib.import_module(module)
    print(json.dumps({"import_s": time.perf_counter() - t0}))


if __name__ == "__main__":
    main(sys.argv[1:])
