"""The work a page hands to a background job: pretext training, then the
SSL-vs-scratch comparison. Each is a function of data, split and config."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from ssl_core.analysis.comparison import Comparison, compare_modes
from ssl_core.app.jobs import Job
from ssl_core.app.settings import DownstreamSettings, Settings
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import Split, SplitConfig
from ssl_core.engine.downstream import MODE_TITLES, DownstreamConfig, Transfer
from ssl_core.engine.pretrain import PretrainConfig, PretrainResult, pretrain
from ssl_core.engine.probe import ProbeData
from ssl_core.engine.train import Callbacks
from ssl_core.pretext import task_type


def check_pretext_data(dataset: ImageDataset, split: Split, config: PretrainConfig) -> None:
    if len(split.pool) < 2:
        raise ValueError(f"the pretext task needs at least 2 training images; this split has {len(split.pool)}")
    reason = task_type(config.task).unavailable(dataset.channels)
    if reason:
        raise ValueError(reason)


def transfer_problem(pretrained: PretrainResult, dataset: ImageDataset) -> str:
    """Why the pretrained model cannot transfer to `dataset` (another dataset); '' when it can. Plain text:
    both names are the visitor's own, so the page escapes it."""
    if pretrained.dataset != dataset.name or pretrained.in_channels != dataset.channels:
        return (f"The pretrained model was trained on '{pretrained.dataset}', but the current dataset is "
                f"'{dataset.name}'. Pick that dataset again, or pretrain on this one.")
    return ""


def pretext_work(dataset: ImageDataset, split: Split, config: PretrainConfig,
                 start_from: nn.Module | None = None, probe_block: int = 3,
                 checkpoint: Callable[[int, nn.Module], None] | None = None,
                 schedule: PretrainConfig | None = None) -> Callable[[Job], PretrainResult]:
    """Pretext training (from `start_from`'s weights when given: continued training), watched by a
    k-NN probe on the split's labeled images reading block `probe_block`; `checkpoint(epoch, model)` after
    each epoch. `schedule`: the config the result records when `config` is its last part (a training resumed
    after a restart trains the epochs left, and is the whole schedule's result)."""
    check_pretext_data(dataset, split, config)
    pool, test = dataset.images[split.pool], dataset.images[split.test]
    probe = live_probe(dataset, split, probe_block)

    def work(job: Job) -> PretrainResult:
        result = pretrain(config, pool, test, job.callbacks("pretext"), allow_flip=dataset.allow_flip,
                          start_from=start_from, probe=probe, checkpoint=checkpoint)
        result.dataset = dataset.name
        if schedule is not None:
            result.config = schedule
        return result

    return work


def live_probe(dataset: ImageDataset, split: Split, block: int = 3) -> ProbeData | None:
    """The labeled images of the split vote for the held-out ones' classes (None without labels)."""
    return ProbeData.usable(dataset.images[split.labeled], dataset.labels[split.labeled], dataset.images[split.test],
                            dataset.labels[split.test], dataset.num_classes, block)


def _same_network(result: PretrainResult, config: PretrainConfig) -> bool:
    """The same task (and its settings), backbone and seed."""
    done = result.config
    return (done.task == config.task and result.task.settings == config.make_task().settings
            and done.backbone == config.backbone and done.seed == config.seed)


def continuable(previous: PretrainResult | None, dataset: ImageDataset, config: PretrainConfig) -> bool:
    """Whether `config` can carry on training `previous`: same data, task (and its settings) and backbone."""
    return previous is not None and not transfer_problem(previous, dataset) and _same_network(previous, config)


def trained_as(result: PretrainResult, config: PretrainConfig) -> bool:
    """Whether `result` is a training of `config`: the same task and settings, network, size and schedule
    (presenter mode shows a finished run only as the result of the settings the talk is about)."""
    done = result.config
    return _same_network(result, config) and ((done.image_size, done.epochs, done.batch_size, done.lr)
                                              == (config.image_size, config.epochs, config.batch_size, config.lr))


def check_downstream_data(dataset: ImageDataset, split: Split) -> None:
    labeled_classes = set(dataset.labels[split.labeled].tolist())
    if dataset.num_classes < 2 or len(labeled_classes) < 2:
        raise ValueError("the downstream task needs labeled images of at least two classes; this dataset has "
                         f"{len(labeled_classes)}. The pretext task works without labels.")
    if len(split.test) == 0:
        raise ValueError("the downstream comparison needs a held-out test set: raise the test fraction")


def comparison_work(dataset: ImageDataset, split: Split, pretrained: PretrainResult, modes: Sequence[str],
                    config: DownstreamConfig, seeds: int = 1) -> Callable[[Job], Comparison]:
    """Train each mode in turn on the same labels (for each seed); the job's chart shows them side by side."""
    check_downstream_data(dataset, split)

    def work(job: Job) -> Comparison:
        def callbacks_for(title: str, index: int, total: int) -> Callbacks:
            return job.callbacks(title, (index / total, (index + 1) / total))

        return compare_modes(dataset, split, pretrained, modes, config, seeds, callbacks_for,
                             lambda: job.stop_requested)

    return work


# The talk preset: pretext training and the SSL-vs-scratch comparison on the built-in
# MNIST digits with 1 label per class (where self-supervision shows most), sized to finish
# within a minute on a 2-core laptop: 10 epochs at 20 px led scratch by the most of the sizes tried, with
# bf16 steps (assets/results/talk-cpu-2cores.md).
TALK_DATASET = "mnist-10k"
TALK_SPLIT = SplitConfig(test_fraction=0.2, labels_per_class=1, seed=0)
TALK_PRETEXT = PretrainConfig(task="rotation", image_size=20, epochs=10, batch_size=64, lr=2e-3)
TALK_DOWNSTREAM = DownstreamConfig()
TALK_MODES = Transfer.LINEAR.compared
# The same as the visitor's settings (forms, share link, presenter mode): one click makes them current.
TALK_SETUP = Settings(f"builtin:{TALK_DATASET}", TALK_PRETEXT, TALK_SPLIT,
                      DownstreamSettings.of(TALK_DOWNSTREAM, Transfer.LINEAR))


def comparison_after(pretext_job: Job, dataset: ImageDataset, split: Split, modes: Sequence[str],
                     config: DownstreamConfig) -> Callable[[Job], Comparison]:
    """The comparison on the model of `pretext_job`, for a job started with `after=pretext_job` (one
    click for both)."""
    check_downstream_data(dataset, split)

    def work(job: Job) -> Comparison:
        pretrained = pretext_job.snapshot().result
        if pretrained is None:
            raise RuntimeError("pretext training did not produce a model: " + pretext_job.snapshot().message)
        return comparison_work(dataset, split, pretrained, modes, config)(job)

    return work


def describe_pretext(config: PretrainConfig) -> str:
    """A pretext training's settings in one line (the run history)."""
    return (f"{config.make_task().describe()} · {config.backbone} · {config.image_size} px · "
            f"{config.epochs} epochs · batch {config.batch_size} · lr {config.lr:g} · seed {config.seed}")


def describe_comparison(config: DownstreamConfig, modes: Sequence[str], split: Split, seeds: int = 1) -> str:
    """A comparison's models and settings in one line (the run history)."""
    return (f"{' vs '.join(MODE_TITLES[m] for m in modes)} · {len(split.labeled):,} labels, "
            f"{len(split.test):,} test · block {config.block} · {config.epochs} epochs · lr {config.lr:g}"
            + (f" · {seeds} seeds" if seeds > 1 else ""))
