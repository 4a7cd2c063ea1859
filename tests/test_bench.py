"""The benchmark: its quick run (``--quick``, with and without PyTorch), so that it cannot rot; the
sweep's quick mode and the torch.func ensemble against separate PyTorch models; each program it
runs in a fresh process; the targets table. No timing assertions."""

import ast
import importlib
import importlib.util
import itertools
import json
import math
import re
import runpy
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from helpers import assert_close

from jnnbasics import bench
from jnnbasics.bench.process_checks import training_program_args
from jnnbasics.training import setup

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

BENCH_DIR = Path(bench.__file__).parent
RUN_PY = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
TARGETS_JSON = RUN_PY.parent / "targets.json"


def _positive_finite(values):
    return len(values) > 0 and all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in values)


def _run_py():
    """``benchmarks/run.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("bench_run_py", RUN_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------
# The quick run, as benchmarks/run.py runs it (judged by the targets)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert _run_py().main(["--quick", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_quick_run_writes_json_markdown_and_png(quick_run):
    out, _ = quick_run
    for name in ("results.json", "results.md", "results.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "results.md").read_text()
    assert "### Targets" in md and "| target | wanted | measured | met | detail |" in md
    assert "### Sweep tiny" in md and "JAX devices: " in md


@pytest.mark.slow
def test_quick_run_json_has_every_system_and_workload_with_positive_times(quick_run):
    _, res = quick_run
    assert set(res["workloads"]) == {"tiny", "seed"}
    for wl, wres in res["workloads"].items():
        assert set(wres["systems"]) == set(bench.cli.QUICK_SYSTEMS), wl
        for name, sres in wres["systems"].items():
            assert "error" not in sres, (wl, name, sres.get("error"))
            assert len(sres["us_per_step"]) == 2  # --quick: 2 repeats
            assert _positive_finite(sres["us_per_step"]), (wl, name)
            assert _positive_finite([sres["summary"]["median"], sres["vs_torch_eager"]["median"]])
    assert res["matmul"]["peak_gflops"] > 0
    assert set(res["sweep"]) == {"tiny"} and res["sweep"]["tiny"]["ks"] == [64]
    assert res["meta"]["targets_file"] == "benchmarks/targets.json" or res["meta"]["targets_file"].endswith(
        "targets.json"
    )
    assert res["meta"]["jax_devices"]["count"] >= 1 and res["meta"]["torch"] is True


@pytest.mark.slow
def test_quick_run_judges_the_targets_it_measured_and_leaves_out_extras_not_run(quick_run):
    _, res = quick_run
    targets = {t["id"]: t for t in res["targets"]}
    assert targets["epoch_tiny_speedup"]["met"] in (True, False)
    assert targets["sweep_tiny64_vs_one_model"]["met"] in (True, False)
    assert targets["sweep_tiny64_vs_torch_func"]["met"] in (True, False)
    assert targets["sweep_tiny256_vs_tiny64"]["met"] is None  # --quick: no K=256
    assert targets["epoch_wide_speedup"]["met"] is None  # the wide workload was not run
    assert "sweep_seed16_vs_one_model" not in targets  # no seed sweep: the row is left out
    assert not [i for i in targets if i.startswith(("compile", "memory", "startup"))]


def _quick_without_torch(out):
    """``jnnbasics bench --quick`` in a child where ``import torch`` fails, as without PyTorch."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from jnnbasics.cli import main\n"
        f"sys.exit(main(['bench', '--quick', '--out', {str(out)!r}]))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_quick_run_without_torch_times_the_jax_systems_and_says_what_to_install(tmp_path):
    proc = _quick_without_torch(tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if "pip install torch" in ln]
    assert lines and set(lines) == {bench.machine.TORCH_MISSING}  # one line (printed first and last)
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["meta"]["torch"] is False and "targets" not in res
    for wres in res["workloads"].values():
        assert set(wres["systems"]) == {"jnn_step", "jnn_epoch", "jnn_epoch_autodiff"}
        assert all(_positive_finite(s["us_per_step"]) for s in wres["systems"].values())
    assert set(res["sweep"]["tiny"]["systems"]) == {"train_many_64", "train_model", "train_model_seq"}
    assert bench.machine.TORCH_MISSING in (tmp_path / "results.md").read_text()


QUICK_TINY_JNN_STEP = ["--quick", "--workloads", "tiny", "--systems", "jnn_step", "--extras", "none"]
"""The smallest benchmark run: one workload, one system, no extras."""


def test_jnnbasics_bench_reports_no_targets_and_no_tracker_wording(tmp_path, capsys):
    argv = [*QUICK_TINY_JNN_STEP, "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    res = json.loads((tmp_path / "results.json").read_text())
    md = (tmp_path / "results.md").read_text()
    assert "targets" not in res and res["meta"]["targets_file"] is None
    assert "Targets" not in md and "target" not in out.lower()
    assert not re.search(r"\bissue", out + md, re.I)


def test_the_shipped_code_has_no_tracker_wording():
    paths = [*BENCH_DIR.rglob("*.py"), RUN_PY, TARGETS_JSON]
    hits = [str(p) for p in paths if re.search(r"\bissues?\b", p.read_text(), re.I)]
    assert hits == []


def test_run_py_passes_the_projects_targets_unless_given_others(monkeypatch):
    module = _run_py()
    seen = []
    monkeypatch.setattr(module, "bench_main", lambda argv: seen.append(argv) or 0)
    assert module.main(["--quick"]) == 0
    assert seen[-1][:1] == ["--quick"] and Path(seen[-1][-1]).resolve() == TARGETS_JSON
    assert seen[-1][-2] == "--targets"
    assert module.main(["--targets=mine.json"]) == 0 and seen[-1] == ["--targets=mine.json"]


# --------------------------------------------------------------------------------------------
# Load and PyTorch checks
# --------------------------------------------------------------------------------------------
def test_a_busy_machine_gets_a_one_line_warning(monkeypatch):
    n = bench.machine.cores()
    monkeypatch.setattr(bench.machine.os, "getloadavg", lambda: (n + 0.5, 1.0, 1.0))
    warning = bench.machine.busy_warning()
    assert "\n" not in warning and f"load average {n + 0.5:.2f} on {n} cores" in warning
    assert "unreliable" in warning
    monkeypatch.setattr(bench.machine.os, "getloadavg", lambda: (n - 0.5, 9.0, 9.0))
    assert bench.machine.busy_warning() is None


def test_the_run_prints_and_records_the_busy_warning(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench.machine.os, "getloadavg", lambda: (99.0, 99.0, 99.0))
    argv = [*QUICK_TINY_JNN_STEP, "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    warning = bench.machine.busy_warning()
    assert warning in capsys.readouterr().out.splitlines()
    assert json.loads((tmp_path / "results.json").read_text())["meta"]["warnings"] == [warning]
    assert warning in (tmp_path / "results.md").read_text()


@pytest.mark.parametrize("system, fast", [("jnn_epoch", True), ("jnn_epoch_autodiff", False)])
def test_the_epoch_systems_differ_only_in_the_fast_path(system, fast):
    workload = bench.QUICK_WORKLOADS["tiny"]
    x, y = bench.make_data(workload)
    chosen = []
    real = setup.use_fast_path

    def recording(*a, **k):
        chosen.append(real(*a, **k))
        return chosen[-1]

    runner = bench.make_runner(system, workload, x, y, device="cpu")
    with mock.patch("jnnbasics.training.setup.use_fast_path", recording):
        assert runner.run(1) > 0
    assert chosen == [fast]


def test_torch_available_is_false_when_import_torch_fails(monkeypatch):
    assert bench.machine.torch_available()
    monkeypatch.setitem(sys.modules, "torch", None)
    assert not bench.machine.torch_available()


def test_without_torch_the_plan_leaves_out_the_pytorch_parts():
    args = bench.build_parser().parse_args(["--extras", "all"])
    plan = bench.make_plan(args, torch=False)
    assert plan.systems == ["flax_nnx", "jnn_step", "jnn_epoch", "jnn_epoch_autodiff"]
    assert "memory" not in plan.extras and "sweep" in plan.extras and not plan.torch
    assert bench.machine.TORCH_MISSING in plan.notes
    full = bench.make_plan(args, torch=True)
    assert full.systems == list(bench.SYSTEMS) and full.sweeps == bench.SWEEP_KS and full.notes == []


def test_quick_plan_defaults_and_explicit_choices():
    parse = bench.build_parser().parse_args
    quick = bench.make_plan(parse(["--quick"]), torch=True)
    assert quick.workloads == ["tiny", "seed"] and quick.extras == ["matmul", "sweep"]
    assert quick.systems == list(bench.cli.QUICK_SYSTEMS) and quick.sweeps == bench.QUICK_SWEEP_KS
    chosen = bench.make_plan(parse(["--quick", "--systems", "flax_nnx", "--workloads", "seed"]), torch=True)
    assert chosen.systems == ["flax_nnx"] and chosen.sweeps == {}  # no seed sweep in --quick


def test_bad_cpu_devices_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--cpu-devices", "0"])
    assert exc.value.code == 2
    assert "argument --cpu-devices: must be 'cores' or a positive integer, got '0'" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------
def test_the_sweeps_quick_mode_times_every_system_per_model_step():
    import jax

    w = bench.Workload("tiny", (2, 8, 1), 8, "bce_with_logits", 32)
    res = bench.bench_sweep(w, (3,), repeats=2, target_s=0.01, epochs=1, log=lambda s: None)
    systems = res["systems"]
    assert set(systems) == {"train_many_3", "torch_func_3", "train_model", "train_model_seq", "torch_seq"}
    for name, r in systems.items():
        assert "error" not in r, (name, r.get("error"))
        assert len(r["us_per_model_step"]) == 2 and _positive_finite(r["us_per_model_step"]), name
    many = systems["train_many_3"]
    assert set(many) >= {"vs_train_model", "vs_train_model_seq", "vs_torch_func", "vs_torch_seq"}
    assert 1 <= many["devices"] <= jax.device_count() and len(many["held_on"]) == many["devices"]
    # a ratio is taken pair by pair: round r of the baseline over round r of the system
    one, us = systems["train_model"]["us_per_model_step"], many["us_per_model_step"]
    assert many["vs_train_model"]["median"] == pytest.approx(np.median([a / b for a, b in zip(one, us)]))
    rows = bench.sweep_table({"sweep": {"tiny": res}}, "tiny")
    assert [r[:2] for r in rows[1:3]] == [["train_many", "3"], ["torch_func", "3"]]


@pytest.mark.parametrize(
    ("sizes", "loss_type"), [((2, 16, 8, 1), "bce_with_logits"), ((6, 8, 3), "cross_entropy")]
)
def test_the_torch_func_ensemble_trains_like_64_separate_torch_models(sizes, loss_type):
    import torch

    from jnnbasics.bench.runners import torch_criterion, torch_mlp

    k, batch, steps = 64, 8, 4
    torch.manual_seed(0)
    models = [torch_mlp(sizes) for _ in range(k)]
    ensemble = bench.TorchEnsemble(models, loss_type, lr=1e-2)  # stacked copies: models unchanged
    xs = torch.randn(steps, k, batch, sizes[0])
    if loss_type == "bce_with_logits":
        ys = (torch.rand(steps, k, batch, 1) > 0.5).float()
    else:
        ys = torch.randint(0, sizes[-1], (steps, k, batch))
    together = torch.stack([ensemble.step(xs[s], ys[s]) for s in range(steps)]).detach()
    criterion = torch_criterion(loss_type)
    apart = torch.zeros(steps, k)
    for i, model in enumerate(models):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for s in range(steps):
            loss = criterion(model(xs[s, i]), ys[s, i])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            apart[s, i] = loss.detach()
    assert_close(together, apart, np.float32, "trajectory")
    for name, stacked in ensemble.params.items():
        separate = torch.stack([dict(m.named_parameters())[name] for m in models])
        assert_close(stacked, separate, np.float32, "trajectory", err_msg=name)
    assert not torch.equal(together[0], together[-1])  # it trained


def test_the_torch_func_ensemble_trains_epochs_on_its_own_shuffles():
    import torch

    from jnnbasics.bench.runners import torch_mlp

    torch.manual_seed(0)
    ensemble = bench.TorchEnsemble([torch_mlp((2, 4, 1)) for _ in range(3)], "bce_with_logits")
    x, y = torch.randn(10, 2), (torch.rand(10, 1) > 0.5).float()
    losses = ensemble.train_epochs(x, y, epochs=2, batch_size=4, generator=torch.Generator().manual_seed(0))
    assert losses.shape == (2, 3) and bool(torch.isfinite(losses).all())


# --------------------------------------------------------------------------------------------
# Statistics and workloads
# --------------------------------------------------------------------------------------------
def test_paired_ratio_takes_the_median_of_per_repeat_ratios():
    # ratios 2/1, 9/3, 4/1 -> 2, 3, 4: median 3, while the ratio of medians would be 4/1 = 4
    r = bench.paired_ratio([2.0, 9.0, 4.0], [1.0, 3.0, 1.0])
    assert r["median"] == 3.0 and r["min"] == 2.0 and r["max"] == 4.0


def test_summarize_drops_missing_values():
    assert bench.summarize([None, math.nan, 1.0, 3.0]) == {
        "median": 2.0,
        "q1": 1.5,
        "q3": 2.5,
        "min": 1.0,
        "max": 3.0,
        "n": 2,
    }
    assert bench.summarize([])["n"] == 0


def test_flops_per_step_is_six_batch_sum_in_out():
    w = bench.WORKLOADS["seed"]
    assert w.flops_per_step == 6 * 128 * (784 * 128 + 128 * 64 + 64 * 10)
    assert bench.WORKLOADS["tiny"].steps_per_epoch == 64
    assert w.as_dict()["layer_sizes"] == [784, 128, 64, 10]


# --------------------------------------------------------------------------------------------
# The programs run in fresh processes
# --------------------------------------------------------------------------------------------
_TINY = bench.Workload("tiny", (2, 8, 1), 4, "bce_with_logits", 16)
_SMALL = bench.Workload("small", (6, 8, 3), 4, "cross_entropy", 16)


def _train_args(tmp_path, workload, *, epochs, extra=0):
    x, y = bench.make_data(workload, n_samples=workload.n_samples + extra)
    return training_program_args(tmp_path / "data.npz", x, y, workload, epochs=epochs)


def test_every_program_file_is_run_by_run_program():
    files = {p.stem for p in (BENCH_DIR / "programs").glob("*.py")}
    helpers = {"__init__", "peak_memory", "training_args"}
    assert files - helpers == set(bench.PROGRAMS)


@pytest.mark.parametrize("program", bench.PROGRAMS)
def test_each_program_starts_as_a_script_in_a_fresh_interpreter(program):
    # --help: the script and its sibling imports load, nothing heavy is imported before main()
    res, _ = bench.run_program(program, ["--help"])
    assert res == {}


def test_run_program_returns_the_programs_json_line():
    res, wall = bench.run_program("startup_import", ["json"])
    assert set(res) == {"import_s"} and 0 <= res["import_s"] < wall


def test_run_program_refuses_an_unknown_program_and_reports_a_failing_one():
    with pytest.raises(ValueError, match="run_program: program must be one of startup_import, "):
        bench.run_program("nope")
    with pytest.raises(RuntimeError, match="startup_import failed"):
        bench.run_program("startup_import", ["no_such_module_here"])


@pytest.fixture
def program(monkeypatch, capsys):
    """Run a program's ``main(argv)`` in this process (cheap: JAX and torch are imported already),
    as its script would run: its folder first on ``sys.path``. Returns its JSON line."""
    monkeypatch.syspath_prepend(str(BENCH_DIR / "programs"))

    def run(name, args):
        importlib.import_module(name).main(list(args))
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    return run


def test_startup_import_program(program):
    assert program("startup_import", ["json"])["import_s"] >= 0


def test_startup_init_program_times_init_after_the_backend(program):
    res = program("startup_init", ["2,4,1"])
    assert set(res) == {"backend_s", "init_s"} and res["init_s"] > 0


@pytest.mark.parametrize("name", ["train_jnn", "train_torch"])
def test_training_programs_train_and_report_peak_memory(tmp_path, program, name):
    res = program(name, _train_args(tmp_path, _TINY, epochs=2))
    assert set(res) == {"inside_s", "final_loss", "maxrss_kb", "hwm_kb"}
    assert math.isfinite(res["final_loss"]) and res["hwm_kb"] > 0 and res["maxrss_kb"] > 0


def test_compile_epochs_program_marks_each_epoch_with_the_compile_count(tmp_path, program):
    res = program("compile_epochs", _train_args(tmp_path, _SMALL, epochs=2, extra=3))  # a partial batch
    assert len(res["marks"]) == 2 and len(res["epoch_time"]) == 2
    (t1, c1), (t2, c2) = res["marks"]
    assert 0 < t1 < t2 and 1 <= c1 <= c2 == res["n_compiles"] and res["compile_s"] > 0


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------
def _results(**sections):
    """A hand-written results dict: two workloads' ratios and times, plus ``sections``."""
    tiny = {
        "jnn_epoch": {"vs_torch_eager": {"median": 60.0}, "summary": {"median": 10.0}, "gflops": 3.0},
        "jnn_step": {"vs_torch_eager": {"median": 9.0}, "us_per_step": [100.0, 50.0, 40.0]},
        "flax_nnx": {"us_per_step": [200.0, 300.0, 400.0]},
        "torch_eager": {"summary": {"median": 600.0}},
    }
    return {"workloads": {"tiny": {"systems": tiny}}, "matmul": {"peak_gflops": 12.0}, **sections}


_TABLE = [
    # 60 >= 50: met
    {"id": "a", "description": "epoch", "metric": "workloads.tiny.systems.jnn_epoch.vs_torch_eager.median",
     "comparison": ">=", "threshold": 50, "unit": "x",
     "detail": "{workloads.tiny.systems.jnn_epoch.summary.median:.1f} us"},
    # 9 >= 10: not met
    {"id": "b", "description": "step", "metric": "workloads.tiny.systems.jnn_step.vs_torch_eager.median",
     "comparison": ">=", "threshold": 10, "unit": "x"},
    # 3 / 12 = 25% >= 20%: met
    {"id": "c", "description": "peak", "metric": "workloads.tiny.systems.jnn_epoch.gflops",
     "divided_by": "matmul.peak_gflops", "comparison": ">=", "threshold": 0.2, "unit": "%"},
    # pair by pair 200/100, 300/50, 400/40 = 2, 6, 10: median 6 > 5: met
    {"id": "d", "description": "nnx", "metric": "workloads.tiny.systems.flax_nnx.us_per_step",
     "divided_by": "workloads.tiny.systems.jnn_step.us_per_step", "comparison": ">", "threshold": 5,
     "unit": "x"},
    # the seed workload was not run: not measured
    {"id": "e", "description": "seed", "metric": "workloads.seed.systems.jnn_epoch.vs_torch_eager.median",
     "comparison": ">=", "threshold": 2.5, "unit": "x", "detail": "never shown"},
    # 0 recompilations == 0: met; listed only with a compile section
    {"id": "f", "description": "recompiles of {compile.n_samples} samples", "requires": "compile",
     "metric": "compile.recompiles", "comparison": "==", "threshold": 0},
    # 1.25 s <= 1 s: not met
    {"id": "g", "description": "first epoch", "requires": "compile", "metric": "compile.first_s",
     "comparison": "<=", "threshold": 1, "unit": "s"},
    # 600 / 20 = 30 < 25: not met
    {"id": "h", "description": "many", "requires": "many",
     "metric": "workloads.tiny.systems.torch_eager.summary.median", "divided_by": "many.us",
     "comparison": "<", "threshold": 25},
]  # fmt: skip


def test_evaluate_targets_judges_each_row_by_hand():
    compile_ = {"n_samples": 37, "recompiles": 0, "first_s": 1.25}
    rows = {t["id"]: t for t in bench.evaluate_targets(_results(compile=compile_, many={"us": 20.0}), _TABLE)}
    assert {i: t["met"] for i, t in rows.items()} == {
        "a": True,
        "b": False,
        "c": True,
        "d": True,
        "e": None,
        "f": True,
        "g": False,
        "h": False,
    }
    assert [rows[i]["value"] for i in "abcdfgh"] == [60.0, 9.0, 0.25, 6.0, 0.0, 1.25, 30.0]
    assert math.isnan(rows["e"]["value"]) and rows["e"]["detail"] == ""
    assert rows["a"]["detail"] == "10.0 us" and rows["f"]["what"] == "recompiles of 37 samples"
    assert [rows[i]["target"] for i in "acdfg"] == [">= 50x", ">= 20%", "> 5x", "0", "<= 1 s"]


def test_evaluate_targets_leaves_out_rows_whose_section_did_not_run():
    ids = [t["id"] for t in bench.evaluate_targets(_results(), _TABLE)]
    assert ids == ["a", "b", "c", "d", "e"]


def _table_after(markdown, heading):
    """The Markdown table that follows the first line starting with ``heading`` in ``markdown``."""
    rest = markdown[markdown.index("\n" + heading) + 1 :].splitlines()[1:]
    first = next(i for i, line in enumerate(rest) if line.startswith("|"))
    return "\n".join(itertools.takewhile(lambda line: line.startswith("|"), rest[first:]))


def test_results_md_shows_the_reference_run_judged_by_the_shipped_targets():
    # RESULTS.md's targets table is what targets.json gives on the reference run's results
    results = json.loads((RUN_PY.parent / "results_cpu.json").read_text())
    results["targets"] = bench.evaluate_targets(results, bench.load_targets(TARGETS_JSON))
    expected = _table_after((RUN_PY.parent / "RESULTS.md").read_text(), "### Targets, judged on this run")
    assert bench.report.md_table(bench.target_rows(results)) == expected
    # and its per-step and sweep tables are the same run's
    md = (RUN_PY.parent / "RESULTS.md").read_text()
    assert bench.report.md_table(bench.results_table(results)) == _table_after(md, "### Per optimizer step")
    for name, heading in (("tiny", "Tiny MLP [2, 64, 32, 1]"), ("seed", "Seed MLP [784, 128, 64, 10]")):
        assert bench.report.md_table(bench.sweep_table(results, name)) == _table_after(md, heading)


_ROW = {"id": "a", "description": "d", "metric": "m", "comparison": ">=", "threshold": 1}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{", "is not valid JSON"),
        (json.dumps({"targets": []}), "must hold a JSON list of rows, got dict"),
        (json.dumps([{k: v for k, v in _ROW.items() if k != "metric"}]), "row 0 has no 'metric'"),
        (json.dumps([{**_ROW, "treshold": 2}]), "row 0 has an unknown key 'treshold'"),
        (json.dumps([{**_ROW, "comparison": "=>"}]), "comparison must be one of >= > <= < ==, got '=>'"),
        (json.dumps([{**_ROW, "threshold": "1"}]), "'threshold' must be a number, got '1'"),
        (json.dumps([{**_ROW, "unit": "ms"}]), "unit must be one of"),
        (json.dumps([_ROW, _ROW]), "row 1: id 'a' is used twice"),
    ],
)
def test_load_targets_names_the_problem(tmp_path, content, match):
    path = tmp_path / "targets.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="load_targets: .*" + re.escape(match)):
        bench.load_targets(path)


def test_a_missing_targets_file_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--quick", "--targets", str(tmp_path / "none.json")])
    assert exc.value.code == 2
    assert "load_targets: cannot read" in capsys.readouterr().err


def test_the_report_omits_the_targets_section_without_a_table():
    meta = {"date": "d", "machine": {"cpu": "c", "cores": 1}, "device": "cpu", "load_before": "0"}
    meta.update(command="python -m jnnbasics.bench", quick=True)
    md = bench.markdown_report({"meta": meta, "workloads": {}})
    assert "### Per optimizer step" in md and "Targets" not in md
    assert bench.resolve_targets(None) == (None, None)
    assert bench.resolve_targets(TARGETS_JSON) == (bench.load_targets(TARGETS_JSON), TARGETS_JSON)


# --------------------------------------------------------------------------------------------
# Command line and imports
# --------------------------------------------------------------------------------------------
def test_bad_workload_name_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--quick", "--workloads", "huge"])
    assert exc.value.code == 2
    assert "--workloads must be a comma-separated subset of tiny,seed,wide" in capsys.readouterr().err


def test_python_dash_m_jnnbasics_bench_runs_the_command_line(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["jnnbasics/bench/__main__.py", "--help"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("jnnbasics.bench", run_name="__main__", alter_sys=True)
    assert exc.value.code == 0
    assert "--targets" in capsys.readouterr().out


def test_importing_the_benchmark_imports_neither_torch_nor_matplotlib():
    code = (
        "import sys, jnnbasics; assert 'jnnbasics.bench' not in sys.modules; import jnnbasics.bench; "
        "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((a.name, 0) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level


def test_the_benchmark_uses_only_the_public_api_of_jnnbasics():
    for path in BENCH_DIR.rglob("*.py"):
        for module, level in _imports(path):
            assert level <= 1, (path, module)  # nothing from ``..`` (the package's own modules)
            if module.startswith("jnnbasics"):  # the package or a public module of it
                # jnn_epoch_autodiff switches the fast path's rule off: the one internal it touches
                assert module in ("jnnbasics", "jnnbasics.devices", "jnnbasics.training.fastpath"), (
                    path,
                    module,
                )
