"""The benchmarks' quick modes run end to end (figures printed, JSON written); loose accuracy bounds only."""
import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, shared


def run_bench(*args: str, tmp_path, timeout: int = 900) -> tuple[str, dict]:
    out = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "-m", "ssl_core", "bench", *args, "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, json.loads(out.read_text())


def test_protocols_cover_every_task_on_both_datasets_and_colour_tasks_on_flowers_only():
    from ssl_core.bench.label_efficiency import protocols
    from ssl_core.pretext import TASKS

    for scale in ("quick", "cpu", "full"):
        titles = {p.title for p in protocols(scale)}
        for task in TASKS:
            assert f"Flowers, {task}" in titles
            assert (f"MNIST digits, {task}" in titles) == (task != "colorization")
    cpu = {p.title: p.experiment for p in protocols("cpu")}
    assert cpu["MNIST digits, simclr"].pretext.task == "simclr" and cpu["MNIST digits, simclr"].seeds == (0,)


def test_label_efficiency_quick_beats_chance_clearly(tmp_path):
    """Rotation (a classification task) and inpainting (a reconstruction task) on both datasets; the
    other tasks run the same code (the CPU-sized run of all of them is a benchmark, not a test)."""
    shared("mnist"), shared("flowers")
    stdout, report = run_bench("label-efficiency", "--quick", "--only", "rotation", "--only", "inpainting",
                               tmp_path=tmp_path)
    assert "| labels | n labeled | SSL linear | SSL fine-tune | scratch |" in stdout
    titles = set(report["protocols"])
    assert titles == {"MNIST digits, rotation", "MNIST digits, inpainting", "Flowers, rotation", "Flowers, inpainting"}
    assert "pretext PSNR" in stdout and report["protocols"]["Flowers, inpainting"]["pretext_metric"] == "psnr"
    mnist = report["protocols"]["MNIST digits, rotation"]
    assert mnist["n_test"] == 2000
    at_100 = next(r for r in mnist["results"] if r["labels_per_class"] == 100)
    assert at_100["n_labeled"] == 1000
    assert at_100["ssl_linear"]["mean"] > 0.5 and at_100["ssl_finetune"]["mean"] > 0.5  # chance 0.1
    flowers = report["protocols"]["Flowers, rotation"]
    assert all(r["ssl_finetune"]["mean"] > 0.3 for r in flowers["results"])  # chance 0.2


def test_speed_quick_prints_the_ratio_line(tmp_path):
    stdout, report = run_bench("speed", "--quick", tmp_path=tmp_path)
    lines = stdout.strip().splitlines()
    assert lines[-1].startswith("lowest trainer/bare ratio: ")
    for kind in ("28 px grey", "32 px colour"):
        line = next(line for line in lines if line.startswith(f"cpu rotation {kind}: "))
        assert re.fullmatch(rf"cpu rotation {kind}: chosen (fp32|channels_last|bf16) [\d,]+ img/s, fp32 [\d,]+ img/s, "
                            r"speed-up \d+\.\d\d", line), line
    assert {r["precision"] for r in report["rows"]} >= {"fp32", "channels_last"}
    assert sum(1 for r in report["rows"] if r.get("chosen")) == 2
    assert all(r["trainer"] > 0 and r["bare"] > 0 for r in report["rows"])


def test_talk_preset_runs_headless_and_prints_its_line_last(tmp_path):
    stdout, report = run_bench("talk", tmp_path=tmp_path)
    last = stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"talk preset: [\d.]+ s, ssl 0\.\d{3}, scratch 0\.\d{3}, "
                        r"difference [+-]0\.\d{3} \[[+-]0\.\d{3}, [+-]0\.\d{3}\]", last), last
    assert report["seeds"] == [0] and set(report["runs"][0]) == {"linear", "scratch"}
    assert report["runs"][0]["linear"] > 0.3  # 10 classes: chance is 0.11


def test_inside_prints_separability_probe_and_game_figures_for_each_task(tmp_path):
    stdout, report = run_bench("inside", "--data", "digits", "--epochs", "2", "--only", "rotation", "--only", "simclr",
                               tmp_path=tmp_path)
    assert [row["task"] for row in report["rows"]] == ["rotation", "simclr"]
    for row, line in zip(report["rows"], stdout.strip().splitlines()):
        assert line.startswith(f"digits · {row['task']} (2 epochs") and "k-NN" in line and "live probe" in line
        assert row["outcome"] in ("more separable", "less separable", "no clear change", "at chance")
        low, high = row["knn_difference"]["ci95"]
        assert low <= row["knn_after"] - row["knn_before"] <= high
        assert 0 <= row["probe_start"] <= 1 and 0 <= row["probe_end"] <= 1 and row["quiz_chance"] == 0.25


def test_merge_pools_per_seed_runs_into_one_table(tmp_path):
    from dataclasses import replace

    from ssl_core.analysis.experiment import ExperimentConfig, run_experiment
    from ssl_core.data.datasets import load_digits
    from ssl_core.engine.downstream import DownstreamConfig
    from ssl_core.engine.pretrain import PretrainConfig

    config = ExperimentConfig(pretext=PretrainConfig(epochs=1, image_size=8),
                              downstream=DownstreamConfig(epochs=1, min_steps=2), labels_per_class=(2,))
    files = []
    for seed in (0, 1):
        report = run_experiment(load_digits(), replace(config, seeds=(seed,)))
        files.append(tmp_path / f"seed{seed}.json")
        files[-1].write_text(json.dumps({"protocols": {"MNIST digits, rotation": report.to_json()}}))
    stdout, merged = run_bench("merge", *map(str, files), tmp_path=tmp_path)
    protocol = merged["protocols"]["MNIST digits, rotation"]
    assert len(protocol["pretext_scores"]) == 2 and len(protocol["points"]) == 6
    assert "(2 seeds)" in stdout and "| 2/class | 20 |" in stdout


@pytest.mark.parametrize("args, message", [
    (["merge", "/no/such/report.json"], "cannot merge"),
    (["speed", "--device", "cuda"], "none of cuda is available"),
])
def test_bad_bench_requests_exit_non_zero_with_a_message(args, message, tmp_path):
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = subprocess.run([sys.executable, "-m", "ssl_core", "bench", *args, "--out", str(tmp_path / "r.json")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and message in result.stderr, result.stderr
