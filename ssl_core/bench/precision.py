"""`python -m ssl_core bench precision [--data mnist-10k|FOLDER ...]`

Runs the recommended journey on each dataset twice, in fp32 and in the precision training picks on this machine,
on the same split and seed, and prints whether the chosen one trains as well: held-out pretext score and every
downstream accuracy, with the paired interval of each difference.
"""
from __future__ import annotations

import time
from dataclasses import replace

from ssl_core.bench.common import SHARED
from ssl_core.bench.speed import chosen_precision
from ssl_core.data.sources import open_dataset
from ssl_core.engine.precision import Precision

HELP = "does the chosen precision train as well as fp32?"


def precision_check(specs: list[str]) -> dict:
    """The recommended journey in fp32 and in the chosen precision, same split and seeds: does the
    faster variant train as well? Held-out pretext score and downstream accuracies side by side."""
    from ssl_core.analysis.comparison import compare_modes
    from ssl_core.analysis.stats import paired_difference
    from ssl_core.data.splits import SplitConfig, make_split
    from ssl_core.engine.device import leave_core_for_server
    from ssl_core.engine.pretrain import pretrain
    from ssl_core.engine.recipe import COMPARISON_MODES, recommend

    threads = leave_core_for_server()
    out = []
    print("| dataset | precision | pretext s | pretext score | linear | fine-tuned | scratch |")
    print("|---|---|---|---|---|---|---|")
    for spec in specs:
        dataset = open_dataset(spec, size=64)
        n_test = round(len(dataset) * SplitConfig().test_fraction)
        recipe = recommend(dataset, "cpu", n_pool=len(dataset) - n_test, n_test=n_test)
        split = make_split(dataset.labels, SplitConfig(labels_per_class=recipe.labels_per_class), dataset.class_names)
        chosen, _ = chosen_precision(dataset.images[split.pool], recipe.pretext)
        runs = {}
        for variant in dict.fromkeys((Precision.FP32, chosen)):
            started = time.perf_counter()
            pretrained = pretrain(replace(recipe.pretext, precision=variant.value), dataset.images[split.pool],
                                  dataset.images[split.test], allow_flip=dataset.allow_flip)
            seconds = time.perf_counter() - started
            comparison = compare_modes(dataset, split, pretrained, COMPARISON_MODES,
                                       replace(recipe.downstream, precision=variant.value))
            runs[variant] = (seconds, pretrained, comparison)
            score = pretrained.evaluation
            print(f"| {dataset.name} | {variant.value} | {seconds:.0f} | {score.metric.format(score.value)} | "
                  + " | ".join(f"{comparison.mean(m):.1%}" for m in COMPARISON_MODES) + " |", flush=True)
        entry = {"dataset": dataset.name, "chosen": chosen.value, "epochs": recipe.pretext.epochs,
                 "image_size": recipe.pretext.image_size, "n_test": len(split.test),
                 "runs": {v.value: {"pretext_seconds": sec, "pretext_score": p.evaluation.value,
                                    "accuracies": {m: c.mean(m) for m in COMPARISON_MODES}}
                          for v, (sec, p, c) in runs.items()}}
        if chosen is not Precision.FP32:
            fast, slow = runs[chosen][2], runs[Precision.FP32][2]
            entry["differences"] = {m: paired_difference(fast.runs[m][0].evaluation.correct,
                                                         slow.runs[m][0].evaluation.correct).to_json()
                                    for m in COMPARISON_MODES}
            for m, d in entry["differences"].items():
                print(f"{dataset.name} {m}: {chosen.value} - fp32 = {d['mean'] * 100:+.1f} points "
                      f"[{d['ci95'][0] * 100:+.1f}, {d['ci95'][1] * 100:+.1f}]")
        out.append(entry)
    return {"threads": threads, "datasets": out}


def add_arguments(parser) -> None:
    parser.add_argument("--data", action="append", help="dataset names or folders (default mnist-10k and flowers)")


def main(args, write) -> int:
    write(precision_check(args.data or ["mnist-10k", str(SHARED / "flowers")]))
    return 0
