"""Clear the notebooks of this folder for committing: no outputs, no execution counts or timings.

The ``.ipynb`` files are the source: edit them in Jupyter (or VS Code, or Colab), then run

    python notebooks/clean_notebooks.py && ruff format notebooks

and commit them. Cells get stable ids (``cell-00``, ...) so that a diff shows only what changed;
the kernel is ``python3``. ``tests/test_notebooks.py`` checks that the committed files are clean
and executes them top to bottom.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def clean(path: Path) -> None:
    """Rewrite the notebook at ``path`` without outputs, execution counts and cell metadata."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata = nbformat.from_dict(METADATA)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:02d}"
        cell.metadata = nbformat.from_dict({})
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    nbformat.write(nb, path)


def main(paths: list[str]) -> None:
    for path in [Path(p) for p in paths] or sorted(HERE.glob("*.ipynb")):
        clean(path)
        print(f"cleaned {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
