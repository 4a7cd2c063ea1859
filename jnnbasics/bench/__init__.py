"""The framework benchmark: jnnbasics against PyTorch, ``torch.compile`` and Flax NNX.

For each workload (``tiny``, ``seed``, ``wide``) the same MLP training step is timed in each
system — the tutorial's PyTorch eager loop, jnnbasics' ``make_train_step`` called from a Python
loop, jnnbasics' ``train_model`` (one compiled call per epoch), the idiomatic Flax NNX + optax
step, and ``torch.compile`` — with warm-up (and so compilation) excluded and reported apart,
systems interleaved run by run, and each system's ratio to the PyTorch loop computed pair by pair
(one ratio per repeat) before taking the median. The sweep trains K models at once —
``train_many`` against PyTorch's ``torch.func`` ensemble, one model alone and sequential runs —
per model-step. Extras measure the machine's float32 matmul rate, the first seed epoch's compile
time, start-up time and peak memory (the last three in fresh subprocesses). :func:`main` prints
the tables, judges a table of targets when given one (``--targets``), and writes a JSON file, a
Markdown report and a PNG chart. Without PyTorch it times the JAX systems only.

The modules, in the order a run uses them:

* :mod:`~jnnbasics.bench.workloads` — the workloads and their synthetic data;
* :mod:`~jnnbasics.bench.runners` — one timed runner per system;
* :mod:`~jnnbasics.bench.timing` — warm-up, interleaved repeats, paired ratios;
* :mod:`~jnnbasics.bench.peak` — the machine's matmul peak;
* :mod:`~jnnbasics.bench.many` — the sweep: K models at once (``train_many``, the ``torch.func``
  ensemble) against one model and sequential runs;
* :mod:`~jnnbasics.bench.process_checks` — compile, start-up and memory in fresh processes,
  running the scripts in :mod:`~jnnbasics.bench.programs`;
* :mod:`~jnnbasics.bench.targets` — a JSON table of thresholds judged on the results;
* :mod:`~jnnbasics.bench.report` — tables, Markdown and the chart;
* :mod:`~jnnbasics.bench.machine` — cores, CPU, versions, devices, load, whether PyTorch is there;
* :mod:`~jnnbasics.bench.cli` — the command line.

torch, flax and matplotlib are imported inside the functions that use them, so importing this
package costs no more than importing jnnbasics; ``import jnnbasics`` does not import it. Run it as
``jnnbasics bench``, ``python -m jnnbasics.bench`` or, judged by the project's targets,
``python benchmarks/run.py``.
"""

from .cli import EXTRAS, build_parser, main, make_plan, run_benchmark, write_outputs
from .many import QUICK_SWEEP_KS, SWEEP_KS, TorchEnsemble, bench_sweep
from .peak import combine_peaks, matmul_peak
from .process_checks import PROGRAMS, compile_check, memory_check, run_program, startup_check
from .report import markdown_report, plot_results, results_table, sweep_table, target_rows
from .runners import BASELINE, STRICT_BASELINE, SYSTEM_LABELS, SYSTEMS, Runner, make_runner
from .targets import evaluate_targets, load_targets, resolve_targets
from .timing import bench_workload, paired_ratio, summarize, time_interleaved
from .workloads import QUICK_WORKLOADS, WORKLOADS, Workload, make_data

__all__ = [
    "BASELINE",
    "EXTRAS",
    "PROGRAMS",
    "QUICK_SWEEP_KS",
    "QUICK_WORKLOADS",
    "STRICT_BASELINE",
    "SYSTEMS",
    "SWEEP_KS",
    "SYSTEM_LABELS",
    "WORKLOADS",
    "Runner",
    "TorchEnsemble",
    "Workload",
    "bench_sweep",
    "bench_workload",
    "build_parser",
    "combine_peaks",
    "compile_check",
    "evaluate_targets",
    "load_targets",
    "main",
    "make_data",
    "make_plan",
    "make_runner",
    "markdown_report",
    "matmul_peak",
    "memory_check",
    "paired_ratio",
    "plot_results",
    "resolve_targets",
    "results_table",
    "run_benchmark",
    "run_program",
    "startup_check",
    "summarize",
    "sweep_table",
    "target_rows",
    "time_interleaved",
    "write_outputs",
]
