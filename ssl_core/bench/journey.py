"""`python -m ssl_core bench journey [--data mnist-10k|FOLDER] [--seeds 3] [--time-budget S]`

What the app recommends for a dataset (pretext, then every mode against scratch over `--seeds` seeds), with the
predicted seconds against the measured ones.
"""
from __future__ import annotations

import time

from ssl_core.bench.common import log
from ssl_core.data.sources import open_dataset

HELP = "the recommended journey: predicted against measured seconds"


def journey(spec: str, seeds: int, time_budget: float | None) -> dict:
    """What a person gets on the app's recommended settings: predicted against measured seconds,
    accuracies and the verdicts."""
    from ssl_core.analysis.comparison import compare_modes
    from ssl_core.data.splits import SplitConfig, make_split
    from ssl_core.engine.device import leave_core_for_server
    from ssl_core.engine.pretrain import pretrain
    from ssl_core.engine.recipe import COMPARISON_MODES, recommend

    threads = leave_core_for_server()
    dataset = open_dataset(spec)
    n_test = round(len(dataset) * SplitConfig().test_fraction)
    recipe = recommend(dataset, "auto", time_budget, n_pool=len(dataset) - n_test, n_test=n_test)
    split = make_split(dataset.labels, SplitConfig(labels_per_class=recipe.labels_per_class), dataset.class_names)
    log("recipe: " + "; ".join(recipe.reasons))
    started = time.perf_counter()
    pretrained = pretrain(recipe.pretext, dataset.images[split.pool], dataset.images[split.test],
                          allow_flip=dataset.allow_flip)
    pretext_s = time.perf_counter() - started
    started = time.perf_counter()
    comparison = compare_modes(dataset, split, pretrained, COMPARISON_MODES, recipe.downstream, seeds)
    comparison_s = (time.perf_counter() - started) / seeds
    print(f"{dataset.name}: {len(split.pool):,} unlabeled, {len(split.labeled):,} labeled, {len(split.test):,} test; "
          f"{recipe.pretext.backbone} at {recipe.pretext.image_size} px, {recipe.pretext.epochs} pretext epochs")
    print(f"pretext: predicted {recipe.pretext_seconds:.0f} s, took {pretext_s:.0f} s "
          f"({pretext_s / recipe.pretext_seconds - 1:+.0%}); {pretrained.evaluation.metric.label} "
          f"{pretrained.evaluation.metric.format(pretrained.evaluation.value)}")
    print(f"comparison (one seed): predicted {recipe.comparison_seconds:.0f} s, took {comparison_s:.0f} s "
          f"({comparison_s / recipe.comparison_seconds - 1:+.0%})")
    for mode in comparison.runs:
        print(f"  {mode}: {comparison.mean(mode):.3f} ± {comparison.std(mode):.3f}")
    for verdict in comparison.verdicts.values():
        print(f"- {verdict.text}")
    note = comparison.chance_note(recipe.pretext.image_size, dataset.channels == 3)
    if note:
        print(f"- {note}")
    return {"threads": threads, "dataset": dataset.name, "predicted": [recipe.pretext_seconds,
                                                                       recipe.comparison_seconds],
            "measured": [pretext_s, comparison_s], "pretext_score": pretrained.evaluation.value,
            "accuracies": {mode: comparison.accuracies(mode) for mode in comparison.runs},
            "differences": {mode: comparison.verdicts[mode].difference.to_json() for mode in comparison.verdicts},
            "verdicts": [v.text for v in comparison.verdicts.values()], "chance_note": note}


def add_arguments(parser) -> None:
    parser.add_argument("--data", default="mnist-10k", help="a dataset name or folder")
    parser.add_argument("--seeds", type=int, default=1, help="comparison seeds")
    parser.add_argument("--time-budget", type=float, default=None, help="seconds for the recipe")


def main(args, write) -> int:
    write(journey(args.data, args.seeds, args.time_budget))
    return 0
