"""The benchmark's report: text and Markdown tables of the results and targets, and the chart.

matplotlib is imported inside :func:`plot_results`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .many import SWEEP_LABELS
from .runners import SYSTEMS


def fmt(v: Any, spec: str = ".2f") -> str:
    """``format(v, spec)``, or ``"n/a"`` for None and NaN."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return format(v, spec)


def results_table(results: dict[str, Any]) -> list[list[str]]:
    """Rows ``[workload, system, median µs/step, IQR, min–max, ratio vs torch_eager, vs presliced,
    GFLOP/s, first call s]``, the header first."""
    rows = [
        [
            "workload",
            "system",
            "us/step (median)",
            "IQR",
            "min-max",
            "x vs torch_eager",
            "x vs torch_presliced",
            "GFLOP/s",
            "first call s",
        ]
    ]
    for wl, wres in results["workloads"].items():
        for name, res in wres["systems"].items():
            if "error" in res:
                rows.append([wl, name, "failed", "", "", "", "", "", res["error"][:60]])
                continue
            s = res["summary"]
            rows.append(
                [
                    wl,
                    name,
                    fmt(s["median"], ".1f"),
                    f"{fmt(s['q1'], '.1f')}-{fmt(s['q3'], '.1f')}",
                    f"{fmt(s['min'], '.1f')}-{fmt(s['max'], '.1f')}",
                    fmt(res.get("vs_torch_eager", {}).get("median")),
                    fmt(res.get("vs_torch_presliced", {}).get("median")),
                    fmt(res.get("gflops"), ".1f"),
                    fmt(res.get("first_s"), ".3f"),
                ]
            )
    return rows


_SWEEP_COLUMNS = {
    "vs_train_model": "x vs train_model (one model)",
    "vs_train_model_seq": "x vs train_model_seq",
    "vs_torch_func": "x vs torch_func (same K)",
    "vs_torch_seq": "x vs torch_seq",
}


def sweep_table(results: dict[str, Any], name: str) -> list[list[str]]:
    """Rows of sweep ``name``: ``[system, K, median µs per model-step, IQR, speed-ups..., devices,
    first call s]``, the header first. A speed-up is the other system's time over this one's."""
    header = [
        "system",
        "K",
        "us/model-step (median)",
        "IQR",
        *_SWEEP_COLUMNS.values(),
        "devices",
        "first call s",
    ]
    rows = [header]
    for system, res in results["sweep"][name]["systems"].items():
        kind, _, k = system.rpartition("_")
        kind, k = (kind, k) if k.isdigit() else (system, "1")
        if "error" in res:
            rows.append([system, k, "failed", "", *["" for _ in _SWEEP_COLUMNS], "", res["error"][:60]])
            continue
        s = res["summary"]
        rows.append(
            [
                kind,
                k,
                fmt(s["median"], ".2f"),
                f"{fmt(s['q1'], '.2f')}-{fmt(s['q3'], '.2f')}",
                *[fmt(res.get(c, {}).get("median")) if c in res else "" for c in _SWEEP_COLUMNS],
                str(res["devices"]) if "devices" in res else "",
                fmt(res.get("first_s"), ".3f"),
            ]
        )
    return rows


def target_rows(results: dict[str, Any]) -> list[list[str]]:
    """Rows ``[what, wanted, measured, met, detail]`` of ``results["targets"]``, the header first."""
    rows = [["target", "wanted", "measured", "met", "detail"]]
    for t in results["targets"]:
        spec = ".1%" if t.get("unit") == "%" else ".3f"
        met = {True: "yes", False: "NO", None: "not run"}[t["met"]]
        rows.append([t["what"], t["target"], fmt(t["value"], spec), met, t["detail"]])
    return rows


def text_table(rows: list[list[str]]) -> str:
    """Rows as aligned plain-text columns, a rule under the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(rows: list[list[str]]) -> str:
    """Rows as a Markdown table (``|`` in cells replaced by ``/``)."""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _matmul_line(m: dict[str, Any]) -> str:
    """One sentence on the matmul peak: both frameworks before and after, and the peak used."""
    start, end = m["start"], m["end"]
    return (
        f"Matmul peak (float32, {m['n']}x{m['n']}, best of {start.get('tries')}, before / after the workloads): "
        f"jnp.dot {fmt(start.get('jax_gflops'), '.1f')} / {fmt(end.get('jax_gflops'), '.1f')}, "
        f"torch.mm {fmt(start.get('torch_gflops'), '.1f')} / {fmt(end.get('torch_gflops'), '.1f')} GFLOP/s; "
        f"best training step {fmt(m['best_step_gflops'], '.1f')} GFLOP/s ({m['best_step']}); "
        f"peak used: {fmt(m['peak_gflops'], '.1f')} GFLOP/s, from the {m['peak_source']}."
    )


def devices_line(meta: dict[str, Any]) -> str:
    """One sentence on JAX's devices in this run and the ``--cpu-devices`` setting."""
    jd = meta.get("jax_devices") or {}
    return (
        f"JAX devices: {jd.get('count', 'n/a')} ({', '.join(jd.get('devices', []))}); "
        f"--cpu-devices {meta.get('cpu_devices', 'n/a')}."
    )


def _sweep_section(results: dict[str, Any], name: str) -> list[str]:
    """The Markdown of one sweep: its heading, what it trains, the table and the systems."""
    sweep = results["sweep"][name]
    wl = sweep["workload"]
    held = {s: r["held_on"] for s, r in sweep["systems"].items() if "held_on" in r and len(r["held_on"]) > 1}
    lines = [
        f"### Sweep {name}: K models {wl['layer_sizes']}, batch {wl['batch_size']}, "
        f"{sweep['epochs']} epoch(s) of {wl['steps_per_epoch']} steps each",
        "",
        "µs per model-step (one optimizer step of one model), median over interleaved rounds; "
        "speed-ups: the other system's time over this one's, pair by pair; devices: how many "
        "devices train_many spread the models over.",
        "",
        md_table(sweep_table(results, name)),
        "",
    ]
    lines += [f"- `{k}`: {v}" for k, v in SWEEP_LABELS.items()]
    if held:
        lines += [f"- `{s}` held its models on {', '.join(d)}" for s, d in held.items()]
    return [*lines, ""]


def markdown_report(results: dict[str, Any]) -> str:
    """The Markdown tables (per-step times, sweeps, targets when judged) and the extras of a run."""
    meta = results["meta"]
    parts = [
        f"Run {meta['date']} on {meta['machine']['cpu']} ({meta['machine']['cores']} cores in use), "
        f"device {meta['device']}, load before/after {meta['load_before']} / {meta.get('load_after', 'n/a')}.",
        devices_line(meta),
        f"Command: `{meta['command']}`" + (" (quick: small sizes)" if meta["quick"] else ""),
        "",
        *[f"**{line}**" for line in meta.get("warnings", [])],
        *meta.get("notes", []),
        "",
        "### Per optimizer step (µs; median over repeats, interleaved; ratios pair by pair)",
        "",
        md_table(results_table(results)),
        "",
    ]
    if results.get("matmul"):
        parts += [_matmul_line(results["matmul"]), ""]
    for name in results.get("sweep", {}):
        parts += _sweep_section(results, name)
    if results.get("targets") is not None:
        parts += ["### Targets", "", md_table(target_rows(results)), ""]
    errors = {
        f"{wl}/{n}": r["error"]
        for wl, w in results["workloads"].items()
        for n, r in w["systems"].items()
        if "error" in r
    }
    if errors:
        parts += (
            ["### Systems that did not run", ""] + [f"- {k}: {v[:300]}" for k, v in errors.items()] + [""]
        )
    return "\n".join(parts)


def _bars(results: dict[str, Any], system: str, workloads: list[str]) -> tuple[list, list, list]:
    """Medians and the distances to the quartiles (NaN and 0 where the system did not run)."""
    med, lo, hi = [], [], []
    for w in workloads:
        sm = results["workloads"][w]["systems"].get(system, {}).get("summary")
        if sm is None:
            med.append(np.nan)
            lo.append(0)
            hi.append(0)
        else:
            med.append(sm["median"])
            lo.append(sm["median"] - sm["q1"])
            hi.append(sm["q3"] - sm["median"])
    return med, lo, hi


def plot_results(results: dict[str, Any], path: Path) -> None:
    """Bar chart, log scale: µs per step per system per workload (error bars: IQR), to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wls = list(results["workloads"])
    systems = [s for s in SYSTEMS if any(s in results["workloads"][w]["systems"] for w in wls)]
    fig, ax = plt.subplots(figsize=(max(6, 2.6 * len(wls) + 2), 4.5))
    width = 0.8 / max(len(systems), 1)
    for i, s in enumerate(systems):
        med, lo, hi = _bars(results, s, wls)
        xs = np.arange(len(wls)) + (i - (len(systems) - 1) / 2) * width
        ax.bar(xs, med, width, yerr=[lo, hi], label=s, capsize=2)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(wls)), wls)
    ax.set_ylabel("µs per optimizer step (log)")
    ax.set_title(
        f"MLP training step, {results['meta']['device']}, {results['meta']['machine']['cores']} cores"
    )
    ax.legend(fontsize=8, ncols=2)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
