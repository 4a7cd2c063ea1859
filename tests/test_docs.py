"""Execute the documentation: every ```python block of docs/*.md, in order, one namespace per document.

A block tagged ```python is run; ```python-notest (code that needs several devices or hosts) and
```text / ```bash are shown but not run. Any other Python-looking tag (```py, ```python3, ...) is
refused, so that no example silently escapes the test. Blocks run with the working directory set to
a temporary folder and matplotlib on the Agg backend, so nothing is written into the repository.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.S | re.M)
RUN, SKIP = "python", {"python-notest", "text", "bash", "console", "sh", ""}

# The tutorial must keep one section per part of the classic tutorial.
TUTORIAL_SECTIONS = (
    "Artificial neurons",
    "Activation functions",
    "SimpleNN",
    "Multi-layer perceptron",
    "Loss functions",
    "Backpropagation",
    "The training loop",
    "Dropout",
    "L1/L2 regularisation",
    "Weight initialisation",
    "Learning-rate schedules",
    "Model evaluation",
    "Visualisation",
    "Data preparation",
    "Model architecture selection",
    "Hyperparameter tuning",
)


def code_blocks(path: Path) -> list[tuple[int, str, str]]:
    """``(line, tag, code)`` for every fenced block of ``path``."""
    text = path.read_text()
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(1).strip(), m.group(2)) for m in FENCE.finditer(text)
    ]


def run_document(path: Path) -> int:
    """Run the ```python blocks of ``path`` in order in one namespace; return how many ran."""
    import matplotlib

    matplotlib.use("Agg")
    namespace: dict = {"__name__": f"doc_{path.stem}"}
    ran = 0
    for line, tag, code in code_blocks(path):
        assert tag == RUN or tag in SKIP, f"{path.name}:{line}: unknown code-block tag {tag!r}"
        if tag != RUN:
            continue
        try:
            exec(compile(code, f"{path.name}:{line}", "exec"), namespace)
        except Exception:
            pytest.fail(f"{path.name}, block at line {line} failed:\n{code}\n{traceback.format_exc()}")
        ran += 1
    return ran


@pytest.mark.slow  # several seconds: in the whole suite, not the fast subset
@pytest.mark.parametrize("name", ["tutorial.md", "scaling.md", "architecture.md"])
def test_document_code_runs(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ran = run_document(DOCS / name)
    assert ran >= (len(TUTORIAL_SECTIONS) + 1 if name == "tutorial.md" else 2), (
        f"only {ran} python blocks ran in {name}"
    )


def test_tutorial_covers_every_section():
    text = (DOCS / "tutorial.md").read_text()
    headings = re.findall(r"^## .*$", text, re.M)
    for section in TUTORIAL_SECTIONS:
        assert any(section in h for h in headings), f"tutorial.md has no section on {section!r}"
    # every section shows the PyTorch idea, the jnnbasics code, and what differs
    for body in re.split(r"^## \d+\. ", text, flags=re.M)[1:]:
        title = body.splitlines()[0]
        assert "```text" in body and "```python" in body, f"section {title!r} lacks a snippet"
        assert "**What differs:**" in body, f"section {title!r} does not say what differs"


def test_tutorial_names_the_known_quirks():
    text = (DOCS / "tutorial.md").read_text()
    for quirk in (
        "axis=0",  # softmax across the batch
        "unsquared",  # the tutorial's L2 norm
        "bce_with_logits",  # binary model without sigmoid fed to BCELoss
        "loader",  # tune_hyperparameters passing arrays
        "never uses them",  # schedulers / add_regularization unused by train_model
        "contour",  # decision boundary of raw multi-column outputs
        "goes back UP",  # torch cosine after T_max vs optax
        "AdamW",  # torch Adam weight_decay is L2 in the gradient
    ):
        assert quirk in text, f"tutorial.md does not mention {quirk!r}"


def test_fence_parser_sees_tags(tmp_path):
    sample = tmp_path / "sample.md"
    sample.write_text("a\n```python\nx = 1\n```\n```python-notest\ny = 2\n```\n```text\nz\n```\n")
    assert [(t, c) for _, t, c in code_blocks(sample)] == [
        ("python", "x = 1\n"),
        ("python-notest", "y = 2\n"),
        ("text", "z\n"),
    ]


def test_a_failing_block_fails(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("```python\nx = 1\n```\n\n```python\nassert x == 2\n```\n")
    with pytest.raises(pytest.fail.Exception, match="bad.md, block at line 5 failed"):
        run_document(bad)
