"""`python -m ssl_core bench inside [--data mnist-10k|FOLDER ...] [--only TASK ...] [--epochs N]`

Pretrains every pretext task on the recommended settings (or `--epochs`) and prints what the See-inside views
measure: k-NN separability before and after with its interval, the silhouette, the live probe from epoch 0 to the
end and its cost against an epoch, and the network's score at "you guess first".
"""
from __future__ import annotations

import time
from dataclasses import replace

import torch

from ssl_core.data.sources import open_dataset
from ssl_core.pretext import TASKS

HELP = "what See inside measures, for every task"


def inside(specs: list[str], only: list[str] | None, epochs: int | None) -> dict:
    """The See-inside figures for each dataset and pretext task (one seed, the recommended settings)."""
    from ssl_core.analysis.projection import before_after, project
    from ssl_core.app.runs import live_probe
    from ssl_core.data.augment import resize_all
    from ssl_core.data.splits import SplitConfig, make_split
    from ssl_core.engine.device import leave_core_for_server
    from ssl_core.engine.features import embed
    from ssl_core.engine.pretrain import pretrain
    from ssl_core.engine.probe import PROBE_KEY, PROBE_START_KEY, KnnProbe
    from ssl_core.engine.recipe import recommend
    from ssl_core.engine.train import Callbacks

    leave_core_for_server()
    rows = []
    for spec in specs:
        dataset = open_dataset(spec)
        n_test = round(len(dataset) * SplitConfig().test_fraction)
        recipe = recommend(dataset, "auto", n_pool=len(dataset) - n_test, n_test=n_test)
        split = make_split(dataset.labels, SplitConfig(labels_per_class=recipe.labels_per_class), dataset.class_names)
        block = recipe.downstream.block
        probe = live_probe(dataset, split, block)
        for task in (t for t in TASKS if (not only or t in only) and not TASKS[t].unavailable(dataset.channels)):
            config = replace(recipe.pretext, task=task, epochs=epochs or recipe.pretext.epochs)
            epoch_ends: list[float] = []
            records: list[dict] = []

            class Clock(Callbacks):
                def on_epoch(self, event) -> None:
                    epoch_ends.append(time.perf_counter())
                    records.append(event.metrics)

            started = time.perf_counter()
            result = pretrain(config, dataset.images[split.pool], dataset.images[split.test], Clock(),
                              allow_flip=dataset.allow_flip, probe=probe)
            epoch_s = (epoch_ends[-1] - started) / len(epoch_ends)
            knn = KnnProbe(probe, config.image_size, result.device)
            t0 = time.perf_counter()
            for _ in range(3):
                knn(result.backbone)
            probe_s = (time.perf_counter() - t0) / 3
            test_x, test_y = dataset.images[split.test], dataset.labels[split.test]
            maps = before_after(result, test_x, test_y, dataset.num_classes, block, "pca", limit=1000)
            t0 = time.perf_counter()
            project(embed(result.backbone, test_x[maps.indices], config.image_size, block), "tsne")
            tsne_s = time.perf_counter() - t0
            quiz_images = resize_all(test_x[:64], config.image_size)
            quiz = result.task.quiz(quiz_images, torch.Generator().manual_seed(0))
            answers = result.task.quiz_answers(result.model, quiz)
            quiz_score = sum(a == q.answer for a, q in zip(answers, quiz.questions)) / len(answers)
            before, after = maps.before.separability, maps.after.separability
            row = {"dataset": dataset.name, "task": task, "epochs": config.epochs, "image_size": config.image_size,
                   "pretext": result.evaluation.metric.format(result.evaluation.value),
                   "knn_before": before.knn_accuracy, "knn_after": after.knn_accuracy,
                   "knn_difference": maps.difference.to_json(), "outcome": maps.outcome,
                   "silhouette_before": before.silhouette, "silhouette_after": after.silhouette,
                   "probe_start": records[0].get(PROBE_START_KEY), "probe_end": records[-1].get(PROBE_KEY),
                   "probe_share_of_epoch": probe_s / epoch_s, "epoch_s": epoch_s, "tsne_1000_s": tsne_s,
                   "probed_epochs": sum(PROBE_KEY in r for r in records),
                   "quiz_network": quiz_score, "quiz_chance": quiz.chance, "block": block}
            rows.append(row)
            print(f"{dataset.name} · {task} ({config.epochs} epochs, {config.image_size} px, block {block}): pretext "
                  f"{row['pretext']}; k-NN {before.knn_accuracy:.1%} → {after.knn_accuracy:.1%} "
                  f"({maps.difference.mean * 100:+.1f} [{maps.difference.low * 100:+.1f}, "
                  f"{maps.difference.high * 100:+.1f}], {maps.outcome}); silhouette {before.silhouette:+.2f} → "
                  f"{after.silhouette:+.2f}; live probe {row['probe_start']:.1%} → {row['probe_end']:.1%}, "
                  f"{probe_s:.2f} s = {row['probe_share_of_epoch']:.1%} of an epoch, measured after "
                  f"{row['probed_epochs']} of {config.epochs} epochs; t-SNE of {len(maps.labels):,} "
                  f"{tsne_s:.1f} s; quiz: network {quiz_score:.0%} (chance {quiz.chance:.0%})", flush=True)
    return {"rows": rows}


def add_arguments(parser) -> None:
    parser.add_argument("--data", action="append", help="dataset names or folders (default mnist-10k)")
    parser.add_argument("--only", action="append", help="only these tasks (repeatable)")
    parser.add_argument("--epochs", type=int, default=None, help="pretext epochs instead of the recipe's")


def main(args, write) -> int:
    write(inside(args.data or ["mnist-10k"], args.only, args.epochs))
    return 0
