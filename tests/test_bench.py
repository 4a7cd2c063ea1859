"""The benchmark's smoke run (``--quick``), so that it cannot rot. No timing assertions."""

import json
import math

import pytest

from jnnbasics import bench

pytest.importorskip("torch")
pytest.importorskip("matplotlib")


def _positive_finite(values):
    return len(values) > 0 and all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in values)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    systems = "torch_eager,torch_presliced,flax_nnx,jnn_step,jnn_epoch"
    argv = [
        "--quick",
        "--workloads",
        "tiny,seed",
        "--systems",
        systems,
        "--extras",
        "matmul,many",
        "--out",
        str(out),
    ]
    assert bench.main(argv) == 0
    return out, systems.split(",")


def test_quick_run_writes_json_markdown_and_png(quick_run):
    out, _ = quick_run
    for name in ("results.json", "results.md", "results.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| target |" in (out / "results.md").read_text()


def test_quick_run_json_has_every_system_and_workload_with_positive_times(quick_run):
    out, systems = quick_run
    res = json.loads((out / "results.json").read_text())
    assert set(res["workloads"]) == {"tiny", "seed"}
    for wl, wres in res["workloads"].items():
        assert set(wres["systems"]) == set(systems), wl
        for name, sres in wres["systems"].items():
            assert "error" not in sres, (wl, name, sres.get("error"))
            assert len(sres["us_per_step"]) == 2  # --quick: 2 repeats
            assert _positive_finite(sres["us_per_step"]), (wl, name)
            assert _positive_finite([sres["summary"]["median"], sres["vs_torch_eager"]["median"]])
    assert res["matmul"]["peak_gflops"] > 0
    assert _positive_finite([res["many"]["train_many_us_per_model_step"]["median"]])
    whats = [t["what"] for t in res["targets"]]
    assert any("train_model tiny" in w for w in whats) and any("train_many" in w for w in whats)
    # extras that were not asked for are reported as not run, not as failures
    assert all(t["met"] is None for t in res["targets"] if "start-up" in t["what"] or "memory" in t["what"])


def test_paired_ratio_takes_the_median_of_per_repeat_ratios():
    # ratios 2/1, 9/3, 4/1 -> 2, 3, 4: median 3, while the ratio of medians would be 4/1 = 4
    r = bench.paired_ratio([2.0, 9.0, 4.0], [1.0, 3.0, 1.0])
    assert r["median"] == 3.0 and r["min"] == 2.0 and r["max"] == 4.0


def test_flops_per_step_is_six_batch_sum_in_out():
    w = bench.WORKLOADS["seed"]
    assert w.flops_per_step == 6 * 128 * (784 * 128 + 128 * 64 + 64 * 10)
    assert bench.WORKLOADS["tiny"].steps_per_epoch == 64


@pytest.mark.parametrize(
    "template",
    ["_IMPORT_SCRIPT", "_INIT_SCRIPT", "_JNN_TRAIN_SCRIPT", "_TORCH_TRAIN_SCRIPT", "_COMPILE_SCRIPT"],
)
def test_subprocess_scripts_format_to_valid_python(template):
    src = getattr(bench, template).format(
        module="jnnbasics",
        sizes=[2, 4, 1],
        path="/tmp/x.npz",
        loss="bce_with_logits",
        epochs=1,
        bs=4,
        threads=1,
    )
    compile(src, template, "exec")


def test_bad_workload_name_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--quick", "--workloads", "huge"])
    assert exc.value.code == 2
    assert "--workloads must be a comma-separated subset of tiny,seed,wide" in capsys.readouterr().err
