"""The benchmark's command line: what to run, running it, and writing the outputs.

``python benchmarks/run.py``, ``jnnbasics bench`` and ``python -m jnnbasics.bench`` all call
:func:`main`.
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

from .machine import load_average, machine_info
from .many import many_check
from .peak import combine_peaks, matmul_peak
from .process_checks import compile_check, memory_check, startup_check
from .report import markdown_report, plot_results, results_table, target_rows, text_table
from .runners import SYSTEM_LABELS, SYSTEMS
from .targets import evaluate_targets, resolve_targets
from .timing import bench_workload
from .workloads import QUICK_WORKLOADS, WORKLOADS, Workload

EXTRAS: tuple[str, ...] = ("matmul", "compile", "many", "startup", "memory")
"""The measurements besides the per-step timing, in the order they run."""


def _parse_list(text: str, choices: Sequence[str], flag: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in choices]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"{flag} must be a comma-separated subset of {','.join(choices)}, got {text!r}"
        )
    return items


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of the benchmark (``python benchmarks/run.py --help``)."""
    p = argparse.ArgumentParser(
        prog="jnnbasics bench",
        description="Time MLP training steps in PyTorch (eager, compiled), Flax NNX and jnnbasics; "
        "judge the targets and write JSON, Markdown and a PNG chart.",
    )
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu", help="where to run (default cpu)")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: small sizes, 2 repeats, a few seconds per workload"
    )
    p.add_argument("--workloads", default="tiny,seed,wide", help="comma-separated subset of tiny,seed,wide")
    p.add_argument(
        "--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}"
    )
    p.add_argument(
        "--repeats", type=int, default=None, help="timed runs per system (default 7; 2 with --quick)"
    )
    p.add_argument(
        "--run-seconds",
        type=float,
        default=None,
        help="target length of one timed run (default 0.25 s; 0.01 with --quick)",
    )
    p.add_argument(
        "--extras",
        default="all",
        help="comma-separated subset of matmul,compile,many,startup,memory, 'all' or 'none'",
    )
    p.add_argument(
        "--targets",
        default=None,
        help="JSON table of targets to judge (default benchmarks/targets.json of this checkout; "
        "without one, no targets are reported)",
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


def make_plan(args: argparse.Namespace) -> Plan:
    """Check ``args``' lists and fill in the defaults.

    Raises:
        argparse.ArgumentTypeError: a list names an unknown workload, system or extra.
        SystemExit: ``--repeats`` below 1.
    """
    extras = (
        list(EXTRAS)
        if args.extras == "all"
        else ([] if args.extras == "none" else _parse_list(args.extras, EXTRAS, "--extras"))
    )
    repeats = args.repeats or (2 if args.quick else 7)
    if repeats < 1:
        raise SystemExit("jnnbasics bench: --repeats must be >= 1")
    systems = _parse_list(args.systems, SYSTEMS, "--systems")
    if args.quick:  # compiling takes tens of seconds
        systems = [s for s in systems if s != "torch_compile"]
    return Plan(
        workloads=_parse_list(args.workloads, tuple(WORKLOADS), "--workloads"),
        systems=systems,
        extras=extras,
        repeats=repeats,
        run_seconds=args.run_seconds or (0.01 if args.quick else 0.25),
        table=QUICK_WORKLOADS if args.quick else WORKLOADS,
        quick=bool(args.quick),
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
    """The run's description: date, command, device, sizes, machine, load, systems."""
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": _command(getattr(args, "argv", None) or []),
        "device": args.device,
        "quick": plan.quick,
        "repeats": plan.repeats,
        "run_seconds": plan.run_seconds,
        "machine": machine_info(),
        "load_before": load_average(),
        "systems": {s: SYSTEM_LABELS[s] for s in plan.systems},
        "targets_file": None if targets_file is None else str(targets_file),
        "notes": ["torch_compile skipped in --quick (compiling takes tens of seconds)"] if plan.quick else [],
    }


def _select_device(device: str) -> None:
    """Point JAX at the CPU, or check that it sees a GPU."""
    import jax

    if device == "cpu":
        jax.config.update("jax_platforms", "cpu")
        return
    try:
        jax.devices("gpu")
    except RuntimeError as exc:
        raise SystemExit(f"jnnbasics bench: --device gpu needs a GPU visible to JAX ({exc})") from None


def _run_extras(results: dict[str, Any], plan: Plan, device: str, log: Callable[[str], None]) -> None:
    """The compile, many, start-up and memory measurements that ``plan`` asks for, into ``results``."""
    quick, table = plan.quick, plan.table
    with tempfile.TemporaryDirectory(prefix="jnnbench") as tmpdir:
        tmp = Path(tmpdir)
        if "compile" in plan.extras:
            log("compile check (fresh process) ...")
            results["compile"] = compile_check(table["seed"], tmp, device=device, epochs=3)
        if "many" in plan.extras:
            log("train_many ...")
            results["many"] = many_check(
                table["tiny"],
                n_models=8 if quick else 64,
                epochs=1 if quick else 2,
                repeats=1 if quick else 3,
                sequential="estimated" if quick else "measured",
            )
        if "startup" in plan.extras:
            log("start-up (fresh processes) ...")
            results["startup"] = startup_check(
                tmp,
                device=device,
                repeats=1 if quick else 3,
                tiny=table["tiny"],
                seed=table["seed"],
                steps=200 if quick else 2000,
            )
        if "memory" in plan.extras:
            log("peak memory (fresh processes) ...")
            results["memory"] = memory_check(table["seed"], tmp, device=device, epochs=1 if quick else 3)


def run_benchmark(args: argparse.Namespace, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run everything ``args`` asks for and return the results dict (also what the JSON holds).

    Args:
        args: the namespace of :func:`build_parser`.
        log: where progress lines go.

    Returns:
        ``{"meta", "workloads", ...}``: the extras that ran (``matmul``, ``compile``, ``many``,
        ``startup``, ``memory``) and ``targets`` when a targets table was found.
    """
    _select_device(args.device)
    plan = make_plan(args)
    targets, targets_file = resolve_targets(getattr(args, "targets", None))
    results: dict[str, Any] = {"meta": _meta(args, plan, targets_file), "workloads": {}}
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
    results["meta"]["load_after"] = load_average()
    results["meta"]["wall_s"] = time.perf_counter() - t_start
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
    """Command-line entry: ``python benchmarks/run.py [--quick] [--device cpu|gpu] ...``.

    Args:
        argv: arguments without the program name (None: ``sys.argv[1:]``).

    Returns:
        Exit status 0 (targets not met do not fail the run; they are reported).
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
    if "targets" in results:
        print()
        print(text_table(target_rows(results)))
    print()
    print(f"wall time {results['meta']['wall_s']:.0f} s; wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
