"""`python -m ssl_core bench talk [--seeds 0,1,2]`

The talk preset headless (pretext, then SSL against scratch) once per seed, through the same jobs the page
starts; prints, last, `talk preset: <s> s, ssl <acc>, scratch <acc>, difference <d> [<lo>, <hi>]`.
"""
from __future__ import annotations

import time
from dataclasses import replace

from ssl_core.analysis.comparison import Comparison
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.sources import open_dataset

HELP = "the talk preset headless, once per seed"


def talk_preset(dataset: ImageDataset, seed: int = 0) -> tuple[float, Comparison]:
    """The talk preset end to end, through the same jobs the page starts; `seed` varies the
    pretext run and the labeled images."""
    from ssl_core.app.jobs import JobRegistry
    from ssl_core.app.runs import TALK_DOWNSTREAM, TALK_MODES, TALK_PRETEXT, TALK_SPLIT, comparison_after, pretext_work
    from ssl_core.data.splits import make_split

    split = make_split(dataset.labels, replace(TALK_SPLIT, seed=seed), dataset.class_names)
    registry = JobRegistry()
    started = time.perf_counter()
    pretext = registry.start("pretext", "talk", pretext_work(dataset, split, replace(TALK_PRETEXT, seed=seed)))
    downstream = registry.start("downstream", "talk", comparison_after(pretext, dataset, split, TALK_MODES,
                                                                        TALK_DOWNSTREAM), after=pretext)
    downstream.join()
    seconds = time.perf_counter() - started
    snap = downstream.snapshot()
    if snap.status != "done":
        raise RuntimeError(snap.message)
    return seconds, snap.result


def talk_line(seconds: float, comparison: Comparison) -> str:
    mode = comparison.best_mode()
    d = comparison.verdicts[mode].difference
    return (f"talk preset: {seconds:.1f} s, ssl {comparison.mean(mode):.3f}, scratch {comparison.mean('scratch'):.3f}, "
            f"difference {d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}]")


def talk(seeds: tuple[int, ...]) -> dict:
    """The talk preset once per seed; the last line pools the seeds (paired over images and seeds)."""
    from ssl_core.app.runs import TALK_DATASET
    from ssl_core.engine.device import leave_core_for_server

    threads = leave_core_for_server()
    dataset = open_dataset(TALK_DATASET)
    runs = []
    for seed in seeds:
        seconds, comparison = talk_preset(dataset, seed)
        runs.append((seconds, comparison))
        print(f"seed {seed}: {talk_line(seconds, comparison)}", flush=True)
        print(f"  {comparison.headline().text}", flush=True)
    first = runs[0][1]
    pooled = Comparison({mode: [run for _, c in runs for run in c.runs[mode]] for mode in first.runs},
                        first.n_labeled, first.n_test, first.chance, first.labels_per_class, len(runs))
    pooled.judge()
    mean_seconds = sum(s for s, _ in runs) / len(runs)
    report = {"threads": threads, "seeds": list(seeds), "seconds": [s for s, _ in runs],
              "runs": [{mode: c.accuracies(mode)[0] for mode in c.runs} for _, c in runs],
              "differences": [c.headline().difference.to_json() for _, c in runs],
              "pooled": pooled.headline().difference.to_json(), "verdict": pooled.headline().text}
    if len(runs) > 1:
        print(f"all {len(runs)} seeds: {pooled.headline().text}")
    print(talk_line(mean_seconds, pooled))
    return report


def add_arguments(parser) -> None:
    parser.add_argument("--seeds", default="0", help="one run per seed (comma-separated)")


def main(args, write) -> int:
    write(talk(tuple(int(v) for v in args.seeds.split(","))))
    return 0
