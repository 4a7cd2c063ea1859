"""The benchmark's command line: what to run, running it, and writing the outputs.

``jnnbasics bench``, ``python -m jnnbasics.bench`` and ``python benchmarks/run.py`` all call
:func:`main` (the last one with ``--targets benchmarks/targets.json``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jnnbasics.devices import use_cpu_cores

from . import machine
from .many import QUICK_SWEEP_KS, SWEEP_KS, bench_sweep
from .peak import combine_peaks, matmul_peak
from .process_checks import compile_check, memory_check, startup_check
from .report import markdown_report, plot_results, results_table, sweep_table, target_rows, text_table
from .runners import SYSTEM_LABELS, SYSTEMS
from .targets import evaluate_targets, resolve_targets
from .timing import bench_workload
from .workloads import QUICK_WORKLOADS, WORKLOADS, Workload

EXTRAS: tuple[str, ...] = ("matmul", "sweep", "compile", "startup", "memory")
"""The measurements besides the per-step timing, in the order they run."""

QUICK_SYSTEMS: tuple[str, ...] = (
    "torch_eager",
    "torch_presliced",
    "jnn_step",
    "jnn_epoch",
    "jnn_epoch_autodiff",
)
"""The systems of ``--quick`` (``torch_compile`` and ``flax_nnx`` take seconds to compile)."""

QUICK_EXTRAS: tuple[str, ...] = ("matmul", "sweep")
"""The extras of ``--quick`` (the others start fresh interpreters, a few seconds each)."""

TORCH_SYSTEMS: tuple[str, ...] = tuple(s for s in SYSTEMS if s.startswith("torch_"))
"""The systems that need PyTorch."""


def _parse_list(text: str, choices: Sequence[str], flag: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in choices]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"{flag} must be a comma-separated subset of {','.join(choices)}, got {text!r}"
        )
    return items


def _cpu_devices(text: str) -> int | str:
    """``--cpu-devices``: ``"cores"`` or a positive integer."""
    if text == "cores":
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"must be 'cores' or a positive integer, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of the benchmark (``jnnbasics bench --help``)."""
    p = argparse.ArgumentParser(
        prog="jnnbasics bench",
        description="Time MLP training in PyTorch (eager, compiled), Flax NNX and jnnbasics: one model "
        "at a time, and K models at once (train_many against a torch.func ensemble and sequential "
        "runs); write JSON, Markdown and a PNG chart.",
    )
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu", help="where to run (default cpu)")
    p.add_argument(
        "--cpu-devices",
        type=_cpu_devices,
        default="cores",
        help="JAX's CPU devices: 'cores' (default: one per core, as 'jnnbasics tune' has them; "
        "train_many spreads its models over them) or a number (1 is XLA's own default)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a quick look, under a minute on 2 cores: small sizes, 2 repeats, workloads tiny and "
        "seed, no flax_nnx or torch_compile, extras matmul and sweep",
    )
    p.add_argument("--workloads", default=None, help="comma-separated subset of tiny,seed,wide (default all)")
    p.add_argument(
        "--systems", default=None, help=f"comma-separated subset of {','.join(SYSTEMS)} (default all)"
    )
    p.add_argument(
        "--repeats", type=int, default=None, help="timed runs per system (default 7; 2 with --quick)"
    )
    p.add_argument(
        "--run-seconds",
        type=float,
        default=None,
        help="target length of one timed run (default 0.25 s; 0.05 with --quick)",
    )
    p.add_argument(
        "--extras",
        default=None,
        help=f"comma-separated subset of {','.join(EXTRAS)}, 'all' (the default) or 'none'",
    )
    p.add_argument(
        "--targets",
        default=None,
        help="a JSON table of thresholds to judge the results by (see jnnbasics.bench.targets)",
    )
    p.add_argument("--out", default="benchmarks/out", help="output folder (default benchmarks/out)")
    return p


@dataclass(frozen=True)
class Plan:
    """What a run measures, with the defaults of ``--quick`` or of a full run filled in."""

    workloads: list[str]
    systems: list[str]
    extras: list[str]
    repeats: int
    run_seconds: float
    table: dict[str, Workload]
    quick: bool
    sweeps: dict[str, tuple[int, ...]]
    sweep_epochs: int
    torch: bool
    notes: list[str]


def _extras(text: str | None, quick: bool) -> list[str]:
    """The extras ``--extras`` asks for (its default: all; with ``--quick``, :data:`QUICK_EXTRAS`)."""
    if text is None:
        return list(QUICK_EXTRAS if quick else EXTRAS)
    if text in ("all", "none"):
        return list(EXTRAS) if text == "all" else []
    return _parse_list(text, EXTRAS, "--extras")


def make_plan(args: argparse.Namespace, *, torch: bool | None = None) -> Plan:
    """Check ``args``' lists and fill in the defaults.

    Args:
        args: the namespace of :func:`build_parser`.
        torch: whether PyTorch can be imported (None: find out). Without it the PyTorch systems,
            the PyTorch parts of the sweep and the memory comparison are left out.

    Raises:
        argparse.ArgumentTypeError: a list names an unknown workload, system or extra.
        SystemExit: ``--repeats`` below 1.
    """
    quick = bool(args.quick)
    torch = machine.torch_available() if torch is None else torch
    repeats = args.repeats or (2 if quick else 7)
    if repeats < 1:
        raise SystemExit("jnnbasics bench: --repeats must be >= 1")
    default_workloads = "tiny,seed" if quick else ",".join(WORKLOADS)
    workloads = _parse_list(args.workloads or default_workloads, tuple(WORKLOADS), "--workloads")
    default_systems = QUICK_SYSTEMS if quick else SYSTEMS
    systems = _parse_list(args.systems, SYSTEMS, "--systems") if args.systems else list(default_systems)
    extras = _extras(args.extras, quick)
    notes = []
    if quick:
        notes.append(
            "quick: small sizes and 2 repeats; a full run (without --quick) adds flax_nnx, "
            "torch_compile, the wide workload and the compile, start-up and memory checks"
        )
    if not torch:
        notes.append(machine.TORCH_MISSING)
        systems = [s for s in systems if s not in TORCH_SYSTEMS]
        extras = [e for e in extras if e != "memory"]  # a comparison with PyTorch
    all_sweeps = QUICK_SWEEP_KS if quick else SWEEP_KS
    return Plan(
        workloads=workloads,
        systems=systems,
        extras=extras,
        repeats=repeats,
        run_seconds=args.run_seconds or (0.05 if quick else 0.25),
        table=QUICK_WORKLOADS if quick else WORKLOADS,
        quick=quick,
        sweeps={w: all_sweeps[w] for w in workloads if w in all_sweeps} if "sweep" in extras else {},
        sweep_epochs=1 if quick else 2,
        torch=torch,
        notes=notes,
    )


def _command(argv: Sequence[str]) -> str:
    """The command line that started this run, as a user would type it."""
    prog = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if prog.endswith("run.py"):
        head = f"python {os.path.relpath(prog)}"
    elif prog.endswith(os.path.join("bench", "__main__.py")):
        head = "python -m jnnbasics.bench"
    elif prog.endswith("jnnbasics") or prog.endswith("__main__.py"):
        head = "jnnbasics bench"
    else:
        head = "python -m jnnbasics.bench"
    return " ".join([head, *argv])


def _meta(args: argparse.Namespace, plan: Plan, targets_file: Path | None) -> dict[str, Any]:
    """The run's description: date, command, device and its setting, sizes, machine, load, systems."""
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": _command(getattr(args, "argv", None) or []),
        "device": args.device,
        "cpu_devices": args.cpu_devices,
        "jax_devices": machine.jax_devices(),
        "quick": plan.quick,
        "repeats": plan.repeats,
        "run_seconds": plan.run_seconds,
        "machine": machine.machine_info(),
        "load_before": machine.load_average(),
        "systems": {s: SYSTEM_LABELS[s] for s in plan.systems},
        "targets_file": None if targets_file is None else str(targets_file),
        "torch": plan.torch,
        "notes": list(plan.notes),
        "warnings": [],
    }


def _select_device(device: str, cpu_devices: int | str = "cores") -> None:
    """Point JAX at the CPU with ``cpu_devices`` devices, or check that it sees a GPU.

    The CPU devices are set as ``jnnbasics tune`` sets them (:func:`jnnbasics.devices.use_cpu_cores`):
    only before JAX's backend starts, and not over the user's own choice (``XLA_FLAGS``,
    ``jax_num_cpu_devices``); the results record the devices the run had.
    """
    import jax

    if device == "cpu":
        jax.config.update("jax_platforms", "cpu")
        use_cpu_cores(None if cpu_devices == "cores" else int(cpu_devices))
        return
    try:
        jax.devices("gpu")
    except RuntimeError as exc:
        raise SystemExit(f"jnnbasics bench: --device gpu needs a GPU visible to JAX ({exc})") from None


def _run_sweeps(plan: Plan, log: Callable[[str], None]) -> dict[str, Any]:
    """The sweeps the plan asks for, by workload name."""
    out = {}
    for name, ks in plan.sweeps.items():
        log(f"sweep {name}, K = {', '.join(map(str, ks))} ...")
        out[name] = bench_sweep(
            plan.table[name],
            ks,
            repeats=plan.repeats,
            target_s=plan.run_seconds,
            epochs=plan.sweep_epochs,
            torch=plan.torch,
            log=log,
        )
    return out


def _run_extras(results: dict[str, Any], plan: Plan, device: str, log: Callable[[str], None]) -> None:
    """The sweep, compile, start-up and memory measurements that ``plan`` asks for, into ``results``."""
    quick, table = plan.quick, plan.table
    if plan.sweeps:
        results["sweep"] = _run_sweeps(plan, log)
    with tempfile.TemporaryDirectory(prefix="jnnbench") as tmpdir:
        tmp = Path(tmpdir)
        if "compile" in plan.extras:
            log("compile check (fresh process) ...")
            results["compile"] = compile_check(table["seed"], tmp, device=device, epochs=3)
        if "startup" in plan.extras:
            log("start-up (fresh processes) ...")
            results["startup"] = startup_check(
                tmp,
                device=device,
                repeats=1 if quick else 3,
                tiny=table["tiny"],
                seed=table["seed"],
                steps=200 if quick else 2000,
                torch=plan.torch,
            )
        if "memory" in plan.extras:
            log("peak memory (fresh processes) ...")
            results["memory"] = memory_check(table["seed"], tmp, device=device, epochs=1 if quick else 3)


def _warn_if_busy(results: dict[str, Any], log: Callable[[str], None]) -> None:
    """Record (and print, the first time) the warning of :func:`machine.busy_warning`, if any."""
    warning = machine.busy_warning()
    if warning is not None and not results["meta"]["warnings"]:
        results["meta"]["warnings"].append(warning)
        log(warning)


def run_benchmark(args: argparse.Namespace, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run everything ``args`` asks for and return the results dict (also what the JSON holds).

    Args:
        args: the namespace of :func:`build_parser`.
        log: where progress lines go.

    Returns:
        ``{"meta", "workloads", ...}``: the extras that ran (``matmul``, ``sweep``, ``compile``,
        ``startup``, ``memory``) and ``targets`` when a targets table was given.
    """
    _select_device(args.device, getattr(args, "cpu_devices", "cores"))
    plan = make_plan(args)
    for note in plan.notes:
        log(note)
    targets, targets_file = resolve_targets(getattr(args, "targets", None))
    results: dict[str, Any] = {"meta": _meta(args, plan, targets_file), "workloads": {}}
    _warn_if_busy(results, log)
    t_start = time.perf_counter()
    mm_kw = {"n": 512 if plan.quick else 2048, "tries": 3 if plan.quick else 7, "device": args.device}
    if "matmul" in plan.extras:
        log("matmul peak ...")
        mm_start = matmul_peak(**mm_kw)
        log(f"  {mm_start['peak_gflops']:.1f} GFLOP/s")
    for name in plan.workloads:
        log(f"workload {name} ...")
        results["workloads"][name] = bench_workload(
            plan.table[name],
            plan.systems,
            repeats=plan.repeats,
            target_s=plan.run_seconds,
            device=args.device,
            log=log,
        )
    _run_extras(results, plan, args.device, log)
    if "matmul" in plan.extras:
        log("matmul peak again ...")
        results["matmul"] = combine_peaks(mm_start, matmul_peak(**mm_kw), results["workloads"])
    results["meta"]["load_after"] = machine.load_average()
    results["meta"]["wall_s"] = time.perf_counter() - t_start
    _warn_if_busy(results, log)
    if targets is not None:
        results["targets"] = evaluate_targets(results, targets)
    return results


def write_outputs(results: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write ``results.json``, ``results.md`` and ``results.png`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "results.md", "png": out / "results.png"}
    paths["json"].write_text(json.dumps(results, indent=1, default=float))
    paths["markdown"].write_text(markdown_report(results))
    plot_results(results, paths["png"])
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``jnnbasics bench [--quick] [--device cpu|gpu] ...``.

    Args:
        argv: arguments without the program name (None: ``sys.argv[1:]``).

    Returns:
        Exit status 0 (targets not met, when a table is given, do not fail the run; they are
        reported).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        make_plan(args)
        resolve_targets(args.targets)
    except (argparse.ArgumentTypeError, ValueError) as exc:
        parser.error(str(exc))
    results = run_benchmark(args, log=lambda s: print(s, flush=True))
    paths = write_outputs(results, Path(args.out))
    print()
    print(text_table(results_table(results)))
    for name in results.get("sweep", {}):
        print()
        print(f"sweep {name}: per model-step, speed-ups pair by pair")
        print(text_table(sweep_table(results, name)))
    if "targets" in results:
        print()
        print(text_table(target_rows(results)))
    print()
    for line in results["meta"]["notes"] + results["meta"]["warnings"]:
        print(line)
    print(f"wall time {results['meta']['wall_s']:.0f} s; wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
