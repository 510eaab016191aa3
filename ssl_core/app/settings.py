"""A visitor's choices as one typed record: the dataset, the pretext task and its training, the split and the
comparison. The pages keep one `Settings` per session and replace it whole when a widget changes; a link
carries it (`share`), the workspace store keeps it across reloads and restarts, and the Train and Downstream
pages read their configs from it, so a field is named in one place."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ssl_core.data.splits import SplitConfig
from ssl_core.engine.downstream import DownstreamConfig, Transfer
from ssl_core.engine.pretrain import PretrainConfig
from ssl_core.engine.recipe import Recipe
from ssl_core.pretext import TASKS, TaskSettings

_DOWNSTREAM = DownstreamConfig()


@dataclass(frozen=True)
class DownstreamSettings:
    """The Downstream page's comparison: what it trains beside scratch, and how."""

    transfer: Transfer = Transfer.BOTH
    block: int = _DOWNSTREAM.block
    epochs: int = _DOWNSTREAM.epochs
    lr: float = _DOWNSTREAM.lr
    seeds: int = 1
    batch_size: int = _DOWNSTREAM.batch_size
    backbone_lr_scale: float = _DOWNSTREAM.backbone_lr_scale

    def __post_init__(self) -> None:
        object.__setattr__(self, "transfer", Transfer(self.transfer))  # a link's or a widget's plain string

    @classmethod
    def of(cls, config: DownstreamConfig, transfer: Transfer = Transfer.BOTH, seeds: int = 1) -> DownstreamSettings:
        return cls(transfer, config.block, config.epochs, config.lr, seeds, config.batch_size, config.backbone_lr_scale)

    def config(self) -> DownstreamConfig:
        return DownstreamConfig(epochs=self.epochs, block=self.block, lr=self.lr, batch_size=self.batch_size,
                                backbone_lr_scale=self.backbone_lr_scale)

    @property
    def modes(self) -> tuple[str, ...]:
        """Every model the comparison trains, scratch last."""
        return self.transfer.compared


@dataclass(frozen=True)
class Settings:
    dataset: str | None  # "builtin:mnist-10k", "tv:cifar10", "upload:…"; None in a link: the visitor's own images
    pretext: PretrainConfig = field(default_factory=PretrainConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    downstream: DownstreamSettings = field(default_factory=DownstreamSettings)
    # Each task's settings as last chosen in this session, so that switching tasks and back keeps them (a memory,
    # not a choice: two Settings with the same choices are equal whatever else they remember).
    tasks: Mapping[str, TaskSettings] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        """One form for equal choices: the chosen task's settings spelled out, and remembered."""
        chosen = self.pretext.settings or self.tasks.get(self.pretext.task) or TASKS[self.pretext.task].Settings()
        object.__setattr__(self, "pretext", replace(self.pretext, settings=chosen))
        object.__setattr__(self, "tasks", {**self.tasks, self.pretext.task: chosen})

    def settings_of(self, task: str) -> TaskSettings:
        """`task`'s settings as last chosen here, else its defaults."""
        return self.tasks.get(task) or TASKS[task].Settings()

    def with_task(self, task: str, settings: TaskSettings | None = None) -> Settings:
        """`task` chosen, with `settings` (by default its settings as last chosen here)."""
        chosen = settings if settings is not None else self.settings_of(task)
        return replace(self, pretext=replace(self.pretext, task=task, settings=chosen),
                       tasks={**self.tasks, task: chosen})

    def recommended(self, dataset: str, recipe: Recipe) -> Settings:
        """The same task on `dataset`, with the training, label budget and comparison `recipe` recommends."""
        p = recipe.pretext
        return replace(self, dataset=dataset,
                       pretext=replace(self.pretext, backbone=p.backbone, image_size=p.image_size, epochs=p.epochs,
                                       batch_size=p.batch_size, lr=p.lr, seed=p.seed),
                       split=replace(self.split, labels_per_class=recipe.labels_per_class),
                       downstream=DownstreamSettings.of(recipe.downstream))
