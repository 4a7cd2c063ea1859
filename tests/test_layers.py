"""The layer table of DESIGN.md, held by parsing every module's imports (no module is imported).

Rules, for every module of ``jnnbasics/`` (``__init__.py`` of the package root is exempt):

* it imports only from its own layer or below (module-level and function-level imports alike,
  relative ``from .x import y`` and absolute ``from jnnbasics.x import y`` / ``import jnnbasics.x``);
* nothing imports the applications (L6: ``cli``, ``bench``) except ``__main__`` and their own
  modules, and only applications import the package root (``from jnnbasics import ...``), which
  loads everything;
* no module imports another module's ``_underscored`` name, nor reaches one as ``module._name``;
  importing a private *module* (``_checks``, ``_atomic``, ...) is fine — shared helpers have public
  names inside private modules — but a subpackage's private modules are for that subpackage only.

A subpackage (``training/``, ``cli/``, ``bench/``) and all its modules share one layer.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "jnnbasics"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

LAYERS: dict[int, tuple[str, ...]] = {
    0: ("_types", "_checks", "_atomic", "_keys", "_lockfile", "devices"),  # foundation
    1: ("activations", "initializers", "losses", "penalties", "schedules", "metrics", "tasks"),  # numerics
    2: ("models", "optim", "state", "inference"),  # models, optimisers, the eval forward pass
    3: ("data", "datasets", "csvdata", "csvcolumns", "checkpoint", "runs", "run", "distributed"),  # data
    4: ("training", "parallel", "progress"),  # training (the progress bar is a training callback)
    5: ("viz", "interop"),  # presentation
    6: ("cli", "bench"),  # applications: nothing imports them
}
LAYER_OF = {name: layer for layer, names in LAYERS.items() for name in names}
APPLICATIONS = 6
ENTRY_POINT = "__main__"  # ``python -m jnnbasics``: may import anything
EXEMPT = {"__init__"}  # the public API: re-exports from every layer

# Violations in modules that are being rewritten, as "importer -> imported" (layering) or
# "importer -> module._name" (privacy). To be removed by the run redesign: delete an entry as soon
# as its rewrite lands (test_known_violations_are_still_real fails while a stale entry remains).
KNOWN_VIOLATIONS: set[str] = set()


@dataclass(frozen=True)
class Violation:
    key: str  # stable id, as in KNOWN_VIOLATIONS
    line: int
    why: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.key}: {self.why}"


def discover() -> dict[str, Path]:
    """Every module of the package by dotted id relative to it ("models", "training.loop", "__init__")."""
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]  # a subpackage's __init__ is the subpackage itself
        modules[".".join(parts)] = path
    return modules


MODULES = discover()


def shown(module: str) -> str:
    return module if module else PACKAGE


def layer_of(module: str) -> int | None:
    return LAYER_OF.get(module.split(".")[0])


def private_module_allowed(importer: str, target: str) -> bool:
    """A private module is importable when it sits at the top (L0) or in the importer's own package."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return i == 0 or importer.split(".")[:i] == parts[:i]
    return True


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class ImportChecker:
    """Collect the layering and privacy violations of one module's source."""

    def __init__(self, module: str, source: str, *, is_package: bool = False, known: set[str] | None = None):
        self.module = module
        self.known = set(MODULES) | {""} if known is None else known
        parts = module.split(".") if module else []
        self.package = parts if is_package else parts[:-1]
        self.tree = ast.parse(source)
        self.violations: list[Violation] = []
        self.aliases: dict[str, str] = {}  # local name -> module it is bound to

    # resolving ------------------------------------------------------------------------------------
    def absolute(self, node: ast.ImportFrom) -> str | None:
        """The module ``node`` imports from, relative to the package; None when outside it."""
        if node.level:
            base = self.package[: len(self.package) - (node.level - 1)]
            return ".".join(base + (node.module.split(".") if node.module else []))
        if node.module == PACKAGE:
            return ""
        if node.module and node.module.startswith(PACKAGE + "."):
            return node.module[len(PACKAGE) + 1 :]
        return None

    def join(self, base: str, name: str) -> str:
        return f"{base}.{name}" if base else name

    # checks -----------------------------------------------------------------------------------------
    def flag(self, key: str, line: int, why: str) -> None:
        self.violations.append(Violation(key, line, why))

    def check_module(self, target: str, line: int) -> None:
        """The importer may depend on ``target`` (a module id; "" is the package root)."""
        if target not in self.known:
            self.flag(f"{self.module} -> {shown(target)}", line, "imports a module that does not exist")
            return
        if not private_module_allowed(self.module, target):
            self.flag(f"{self.module} -> {target}", line, "imports another package's private module")
        if self.module == ENTRY_POINT:
            return
        mine, theirs = layer_of(self.module), layer_of(target)
        if self.module.split(".")[0] == target.split(".")[0]:
            return  # the same module or subpackage
        if target == "":
            if mine != APPLICATIONS:
                self.flag(
                    f"{self.module} -> {PACKAGE}",
                    line,
                    "imports the package root, which loads every layer; import from the defining module",
                )
        elif theirs == APPLICATIONS:
            self.flag(f"{self.module} -> {target}", line, f"imports an application (L{theirs}); nothing may")
        elif theirs is not None and mine is not None and theirs > mine:
            self.flag(
                f"{self.module} -> {target}",
                line,
                f"layer L{mine} imports {target} of layer L{theirs}; import only from L{mine} or below",
            )

    def check_name(self, target: str, name: str, line: int) -> None:
        """``target.name`` is a name (not a module) that the importer uses."""
        if is_private(name):
            self.flag(
                f"{self.module} -> {shown(target)}.{name}",
                line,
                "uses another module's private name; give it a public name (in a module of its own)",
            )

    def import_from(self, node: ast.ImportFrom) -> None:
        base = self.absolute(node)
        if base is None:
            return
        for alias in node.names:
            sub = self.join(base, alias.name)
            if alias.name != "*" and sub in self.known and sub != "":
                self.check_module(sub, node.lineno)  # ``from . import models``: a module
                self.aliases[alias.asname or alias.name] = sub
            else:
                self.check_module(base, node.lineno)
                self.check_name(base, alias.name, node.lineno)

    def import_(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name != PACKAGE and not alias.name.startswith(PACKAGE + "."):
                continue
            target = alias.name[len(PACKAGE) + 1 :]
            self.check_module(target, node.lineno)
            self.aliases[alias.asname or PACKAGE] = target if alias.asname else ""

    def attribute(self, node: ast.Attribute) -> None:
        """``alias.sub._name``: walk the chain from a name bound to a package module."""
        chain = []
        while isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.aliases:
            return
        current = self.aliases[node.id]
        for attr in reversed(chain):
            sub = self.join(current, attr)
            if sub in self.known:
                current = sub
                continue
            if current != self.module:
                self.check_name(current, attr, node.lineno)
            return

    def run(self) -> list[Violation]:
        nodes = sorted(
            (n for n in ast.walk(self.tree) if isinstance(n, (ast.Import, ast.ImportFrom, ast.Attribute))),
            key=lambda n: (n.lineno, n.col_offset),
        )
        for node in nodes:  # in source order, so that aliases are bound before they are used
            if isinstance(node, ast.ImportFrom):
                self.import_from(node)
            elif isinstance(node, ast.Import):
                self.import_(node)
            else:  # every link of a chain a.b._c: the repeats are dropped below
                self.attribute(node)
        return sorted(set(self.violations), key=lambda v: (v.line, v.key))


def violations_of(module: str) -> list[Violation]:
    path = MODULES[module]
    return ImportChecker(module, path.read_text(), is_package=path.name == "__init__.py").run()


CHECKED = sorted(m for m in MODULES if m not in EXEMPT)


def test_every_module_is_in_the_layer_table():
    unknown = [m for m in CHECKED if m != ENTRY_POINT and layer_of(m) is None]
    assert not unknown, (
        f"modules without a layer: {unknown}; add each to LAYERS in tests/test_layers.py (and to the "
        "layer table of DESIGN.md / the README's map) in the lowest layer that holds everything it imports"
    )


@pytest.mark.parametrize("module", CHECKED)
def test_imports_respect_the_layers_and_privacy(module):
    found = violations_of(module)
    new = [v for v in found if v.key not in KNOWN_VIOLATIONS]
    assert not new, f"{MODULES[module].relative_to(ROOT.parent)}:\n" + "\n".join(f"  {v}" for v in new)
    if found:
        pytest.xfail("known violations (KNOWN_VIOLATIONS): " + "; ".join(str(v) for v in found))


def test_known_violations_are_still_real():
    everywhere = {v.key for m in CHECKED for v in violations_of(m)}
    stale = sorted(KNOWN_VIOLATIONS - everywhere)
    assert not stale, f"fixed: remove {stale} from KNOWN_VIOLATIONS in tests/test_layers.py"


# --------------------------------------------------------------------------------------------------
# the checker itself, on made-up modules

KNOWN = {"", "_checks", "models", "initializers", "losses", "viz", "cli", "training", "training.step"}


def check(module, source, *, is_package=False):
    return [v.key for v in ImportChecker(module, source, is_package=is_package, known=KNOWN).run()]


def test_checker_flags_upward_imports_in_every_spelling():
    assert check("losses", "from .models import Model") == ["losses -> models"]
    assert check("losses", "from jnnbasics.models import Model") == ["losses -> models"]
    assert check("losses", "import jnnbasics.models") == ["losses -> models"]
    assert check("losses", "import jnnbasics.models as m") == ["losses -> models"]
    assert check("losses", "from . import models") == ["losses -> models"]
    assert check("losses", "def f():\n    from .models import mlp\n    return mlp") == ["losses -> models"]
    assert check("training.step", "from ..viz import save_figure", is_package=False) == [
        "training.step -> viz"
    ]
    assert check("losses", "from ._checks import fail\nfrom .initializers import zeros") == []
    assert check("models", "from .losses import LOSS_TYPES") == []


def test_checker_flags_private_names_however_reached():
    assert check("interop", "from .models import _check_params") == ["interop -> models._check_params"]
    src = "from . import initializers\nx = initializers._unit_and_scale('a', (1, 2))"
    assert check("models", src) == ["models -> initializers._unit_and_scale"]
    assert check("viz", "import jnnbasics.models\njnnbasics.models._check_params") == [
        "viz -> models._check_params"
    ]
    assert check("models", "from ._checks import fail\nfrom . import _checks") == []  # private modules: fine
    assert check("models", "m = Model(1, 2)\nm._replace(init=3)") == []  # not a module: not ours to judge
    assert check("models", "from .models import __doc__") == []  # dunders are public


def test_checker_guards_the_applications_and_the_root():
    assert check("training", "from .cli import main") == ["training -> cli"]
    assert check("viz", "from jnnbasics import mlp") == ["viz -> jnnbasics"]
    assert check("cli", "from . import __version__") == []
    assert check("__main__", "from .cli import main") == []
    assert check("training.step", "from . import _helpers", is_package=False) == [
        "training.step -> training._helpers"
    ]
    assert check("losses", "from .nothing import x") == ["losses -> nothing"]
