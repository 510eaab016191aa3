import json
import statistics
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from ssl_core.analysis import experiment
from ssl_core.analysis.experiment import ExperimentConfig, probe_blocks, run_experiment
from ssl_core.analysis.report import ExperimentReport, unpack_outcomes
from ssl_core.cli import build_parser
from ssl_core.cli import main as cli
from ssl_core.cli.experiment import config_from_args
from ssl_core.data.datasets import load_digits
from ssl_core.data.splits import SplitConfig, make_split
from ssl_core.engine.downstream import DownstreamConfig
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.engine.recipe import Recipe
from tests.conftest import ROOT

TINY = ["--epochs", "1", "--image-size", "8", "--downstream-epochs", "1", "--downstream-min-steps", "2"]


def test_cli_json_has_the_documented_shape(capsys):
    code = cli(["experiment", "--data", "digits", "--labels-per-class", "1,5", "--seeds", "0,1", "--json", *TINY])
    assert code == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["pretext_task"] == {"name": "rotation", "settings": {"angles": [0, 90, 180, 270]}}
    assert report["pretext_baselines"] == [0.25, 0.25]  # rotation: chance among 4 angles
    assert set(report) == {"pretext_task", "pretext_score", "pretext_metric", "pretext_scores", "pretext_baselines",
                           "n_unlabeled", "n_test", "chance", "seconds",
                           "results", "points"}
    assert len(report["pretext_scores"]) == 2 and len(report["points"]) == 2 * 2 * 3
    assert report["n_unlabeled"] + report["n_test"] == 1797
    assert [r["labels_per_class"] for r in report["results"]] == [1, 5]
    assert [r["n_labeled"] for r in report["results"]] == [10, 50]
    for entry in report["results"]:
        for key in ("ssl_linear", "ssl_finetune", "scratch"):
            assert 0 <= entry[key]["mean"] <= 1 and entry[key]["std"] >= 0
        assert set(entry["difference"]) == {"ssl_linear", "ssl_finetune"}
        for key, d in entry["difference"].items():
            assert d["mean"] == pytest.approx(entry[key]["mean"] - entry["scratch"]["mean"])
            assert d["ci95"][0] <= d["mean"] <= d["ci95"][1]
        assert entry["verdict"].startswith(f"With {entry['n_labeled']} labels, SSL")
        assert entry["outcome"] in ("helped", "hurt", "too close to call", "at chance")
    point = report["points"][0]
    assert len(unpack_outcomes(point["correct"], 359)) == 359
    assert unpack_outcomes(point["correct"], 359).float().mean() == pytest.approx(point["accuracy"])
    assert "seed 1" in captured.err  # progress goes to stderr


def test_cli_label_fraction_and_single_transfer(capsys):
    assert cli(["experiment", "--data", "digits", "--label-fraction", "0.1", "--transfer", "linear", "--json", *TINY]) == 0
    entry = json.loads(capsys.readouterr().out)["results"][0]
    assert entry["label_fraction"] == 0.1 and entry["ssl_finetune"] is None and entry["ssl_linear"]
    assert set(entry["difference"]) == {"ssl_linear"}


def test_cli_default_dataset_is_the_built_in_mnist_digits(capsys):
    assert cli(["experiment", "--labels-per-class", "1", "--transfer", "linear", "--pool-limit", "200", "--json", *TINY]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_test"] == 2000 and report["chance"] == pytest.approx(0.1135)  # '1' is the commonest digit


def test_recipe_auto_fills_what_the_flags_leave_out():
    recipe = Recipe(PretrainConfig(image_size=28, epochs=7, batch_size=64, lr=2e-3),
                    DownstreamConfig(backbone_lr_scale=0.3, batch_size=16), labels_per_class=2,
                    pretext_seconds=90, comparison_seconds=10, reasons=())
    config = config_from_args(build_parser().parse_args(["experiment", "--epochs", "3"]), recipe)
    assert config.pretext.image_size == 28 and config.pretext.epochs == 3  # the flag wins
    assert config.downstream.backbone_lr_scale == 0.3 and config.labels_per_class == (2,)
    plain = config_from_args(build_parser().parse_args(["experiment"]))
    assert plain.pretext == PretrainConfig() and plain.labels_per_class == (1, 10, 100)


@pytest.mark.slow  # a process each
@pytest.mark.parametrize("args, message", [
    (["--data", "/no/such/folder"], "neither a dataset name"),
    (["--seeds", "x"], "comma-separated"),
    (["--test-fraction", "1.5"], "test-fraction"),
    (["--pretext", "colour"], "invalid choice"),
    (["--task-option", "angles=0,45"], "angles must be one of"),
    (["--pretext", "jigsaw", "--task-option", "grid=5"], "grid must be one of"),
    (["--task-option", "tiles=3"], "unknown option 'tiles'"),
    (["--scratch-lrs", "0.001,-1"], "scratch-lrs"),
    (["--continue-epochs", "2"], "needs --load"),
    (["--load", "no-such-file.pt"], "No such file"),
])
def test_bad_arguments_exit_non_zero_with_one_line(args, message):
    result = subprocess.run([sys.executable, "-m", "ssl_core", "experiment", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_label_budgets_are_nested_and_stop_is_honoured():
    digits = load_digits()
    config = ExperimentConfig(pretext=PretrainConfig(epochs=1, image_size=8),
                              downstream=DownstreamConfig(epochs=1, min_steps=1), labels_per_class=(1, 2))
    points = []
    report = run_experiment(digits, config, on_point=points.append, should_stop=lambda: len(points) >= 2)
    assert len(points) == 2 and len(report.results) == 1


def test_probe_every_block():
    digits = load_digits()
    split = make_split(digits.labels, SplitConfig(labels_per_class=5))
    pretrained = pretrain(PretrainConfig(epochs=1, image_size=8), digits.images[split.pool], digits.images[split.test])
    probe = probe_blocks(pretrained, digits.images[split.labeled], digits.labels[split.labeled],
                         digits.images[split.test], digits.labels[split.test], 10,
                         DownstreamConfig(epochs=3, min_steps=10), allow_flip=False)
    assert sorted(probe.accuracy) == [1, 2, 3, 4] and all(0 <= v <= 1 for v in probe.accuracy.values())
    assert all(probe.correct[b].float().mean() == pytest.approx(probe.accuracy[b]) for b in probe.accuracy)
    assert "transfers best" in probe.verdict() or "too close to call" in probe.verdict()


def test_the_label_budget_reports_its_progress_through_pretext_and_runs():
    digits = load_digits()
    config = ExperimentConfig(pretext=PretrainConfig(epochs=2, image_size=8),
                              downstream=DownstreamConfig(epochs=1, min_steps=1), labels_per_class=(1, 2),
                              seeds=(0, 1))
    seen, lines = [], []
    run_experiment(digits, config, on_progress=seen.append, log=lines.append, pretext_share=0.4)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert seen[:2] == pytest.approx([0.1, 0.2]) and len(seen) == 2 * (2 + 2 * 3)  # 2 epochs and 6 runs a seed
    assert any("held-out accuracy " in line and "%" in line for line in lines)


def test_parser_defaults_build_a_valid_config():
    config = config_from_args(build_parser().parse_args(["experiment"]))
    assert config.modes() == ("linear", "finetune", "scratch") and config.labels_per_class == (1, 10, 100)


TINY_CONFIG = ExperimentConfig(pretext=PretrainConfig(epochs=1, image_size=8),
                               downstream=DownstreamConfig(epochs=1, min_steps=2), labels_per_class=(1, 3))


def test_scratch_reports_the_best_of_its_learning_rates(monkeypatch):
    tried = []

    def fake_train(mode, pretrained, *args, **kwargs):
        config = args[-1]
        tried.append((mode, config.lr))
        accuracy = {0.001: 0.4, 0.003: 0.7, 0.01: 0.5}[config.lr] if mode == "scratch" else 0.6

        class Outcome:
            evaluation = type("E", (), {"accuracy": accuracy, "correct": torch.arange(359) < accuracy * 359})
        return Outcome()

    monkeypatch.setattr(experiment, "train_downstream", fake_train)
    config = ExperimentConfig(pretext=TINY_CONFIG.pretext, labels_per_class=(2,), scratch_lrs=(0.001, 0.003, 0.01))
    report = run_experiment(load_digits(), config)
    assert [lr for mode, lr in tried if mode == "scratch"] == [0.001, 0.003, 0.01]
    assert {lr for mode, lr in tried if mode != "scratch"} == {config.downstream.lr}  # SSL keeps its own rate
    assert report.results[0].accuracy["scratch"].mean == 0.7


def test_merging_single_seed_reports_equals_a_multi_seed_summary():
    digits = load_digits()
    apart = [run_experiment(digits, replace(TINY_CONFIG, seeds=(seed,))) for seed in (0, 1)]
    merged = ExperimentReport.merged(apart)
    assert merged.pretext_scores == tuple(r.pretext_score for r in apart)
    assert merged.seconds == pytest.approx(sum(r.seconds for r in apart))
    for i, result in enumerate(merged.results):
        for mode in ("linear", "finetune", "scratch"):
            values = [r.results[i].accuracy[mode].mean for r in apart]
            assert result.accuracy[mode].mean == pytest.approx(statistics.fmean(values))
            assert result.accuracy[mode].std == pytest.approx(statistics.pstdev(values))
    with pytest.raises(ValueError, match="different protocols"):
        ExperimentReport.merged([apart[0], replace(apart[1], n_test=apart[1].n_test + 1)])


def test_the_predicted_duration_adds_up_the_runs_it_will_make():
    from ssl_core.analysis.experiment import predicted_seconds
    from ssl_core.engine.recipe import Speed

    speed = Speed(pretext_step=0.01, downstream_step=0.02, probe_step=0.005, eval_image=1e-4)
    one = ExperimentConfig(labels_per_class=(1, 10), seeds=(0,))
    base = predicted_seconds(one, 1400, 360, 10, speed)
    assert predicted_seconds(replace(one, seeds=(0, 1, 2)), 1400, 360, 10, speed) == pytest.approx(3 * base)
    assert predicted_seconds(replace(one, labels_per_class=(1, 10, 100)), 1400, 360, 10, speed) > base
    assert predicted_seconds(replace(one, scratch_lrs=(1e-3, 3e-3)), 1400, 360, 10, speed) > base
    slower = Speed(pretext_step=0.02, downstream_step=0.02, probe_step=0.005, eval_image=1e-4)
    assert predicted_seconds(one, 1400, 360, 10, slower) > base


def test_the_old_flag_spellings_still_work_with_a_note(capsys):
    args = build_parser().parse_args(["experiment", "--pretext-epochs", "3", "--pretext-lr", "0.01"])
    assert (args.epochs, args.lr) == (3, 0.01)
    assert build_parser().parse_args(["pretrain", "--data", ".", "--holdout", "0.3"]).test_fraction == 0.3
    from ssl_core.cli.flags import note_old_spellings

    note_old_spellings(["--pretext-epochs", "3", "--epochs", "2", "--holdout=0.1"])
    err = capsys.readouterr().err
    assert "--pretext-epochs is now --epochs" in err and "--holdout is now --test-fraction" in err
    assert err.count("note:") == 2


@pytest.mark.slow  # a process
def test_one_command_line_lists_its_commands():
    result = subprocess.run([sys.executable, "-m", "ssl_core", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0
    assert all(name in result.stdout for name in ("experiment", "pretrain", "predict", "bench"))
