"""A setup in the URL, as TensorFlow Playground has it: opening the link reproduces the dataset (a
built-in or downloadable one, never the content of a visitor's own images), the pretext task and
the training, split and comparison settings.

Parameters are short and readable (`?data=mnist-10k&task=rotation&t.angles=0,90,180,270&size=28…`).
`from_params` checks every value against the choices the pages offer, and a link it cannot read
raises `ShareError` saying which value is wrong, so a page can fall back to the defaults with a note.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import urlencode

from ssl_core.app.settings import Settings
from ssl_core.data.datasets import BUILTIN, DOWNLOADABLE
from ssl_core.engine.downstream import Transfer
from ssl_core.engine.models import BACKBONES
from ssl_core.pretext import TASKS, settings_dict, settings_from

# The values the Train and Downstream pages offer (their sliders take only these, and any recommended size).
IMAGE_SIZES = (8, 16, 20, 24, 28, 32, 48, 64)
BATCH_SIZES = (2, 4, 8, 16, 32, 64, 128, 256, 512)
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0)
DOWNSTREAM_LEARNING_RATES = (3e-4, 1e-3, 3e-3, 1e-2)
TASK_PREFIX = "t."
KEYS = ("data", "task", "backbone", "size", "epochs", "batch", "lr", "seed", "test", "labels", "split_seed",
        "transfer", "block", "d_epochs", "d_lr", "seeds", "d_batch", "d_scale")


MAX_EPOCHS = 500  # the most epochs any page offers (a link, the Train, Downstream and label-budget pages)


class ShareError(ValueError):
    """A link whose setup cannot be used; the message says which value is wrong."""


def shareable_dataset(dataset_id: str) -> bool:
    kind, _, name = dataset_id.partition(":")
    return (kind == "builtin" and name in BUILTIN) or (kind == "tv" and name in DOWNLOADABLE)


def is_link_key(key: str) -> bool:
    return key in KEYS or key.startswith(TASK_PREFIX)


def is_link(params: Mapping[str, str]) -> bool:
    """Whether the URL carries a setup at all."""
    return any(map(is_link_key, params))


def to_params(setup: Settings) -> dict[str, str]:
    p, s, d = setup.pretext, setup.split, setup.downstream
    params = {}
    if setup.dataset and shareable_dataset(setup.dataset):
        kind, _, name = setup.dataset.partition(":")
        params["data"] = name if kind == "builtin" else setup.dataset
    params["task"] = p.task
    for name, value in settings_dict(p.make_task().settings).items():
        params[TASK_PREFIX + name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    params.update(backbone=p.backbone, size=str(p.image_size), epochs=str(p.epochs), batch=str(p.batch_size),
                  lr=f"{p.lr:g}", seed=str(p.seed), test=f"{s.test_fraction:g}", labels=str(s.labels_per_class),
                  split_seed=str(s.seed), transfer=d.transfer.value, block=str(d.block), d_epochs=str(d.epochs),
                  d_lr=f"{d.lr:g}", seeds=str(d.seeds), d_batch=str(d.batch_size),
                  d_scale=f"{d.backbone_lr_scale:g}")
    return params


def link(base_url: str, setup: Settings) -> str:
    return f"{base_url}?{urlencode(to_params(setup))}"


def _number(params: Mapping[str, str], key: str, kind: type, low: float, high: float, default):
    if key not in params:
        return default
    try:
        value = kind(params[key])
    except ValueError:
        raise ShareError(f"{key}={params[key]!r} is not a number") from None
    if not (isinstance(value, int) or math.isfinite(value)) or not low <= value <= high:
        raise ShareError(f"{key}={params[key]} is outside {low:g}–{high:g}")
    return value


def _choice(params: Mapping[str, str], key: str, kind: type, choices: tuple, default):
    if key not in params:
        return default
    try:
        value = kind(params[key])
    except ValueError:
        raise ShareError(f"{key}={params[key]!r} is not one of {', '.join(map(str, choices))}") from None
    match = next((c for c in choices if c == value or (isinstance(c, float) and math.isclose(c, value))), None)
    if match is None:
        raise ShareError(f"{key}={params[key]} is not one of {', '.join(f'{c:g}' if isinstance(c, float) else str(c) for c in choices)}")
    return match


def from_params(params: Mapping[str, str], defaults: Settings) -> Settings:
    """The link's settings, missing values taken from `defaults` (and the other tasks' settings kept);
    ShareError when a value is wrong."""
    dataset = defaults.dataset
    if "data" in params:
        dataset = params["data"] if ":" in params["data"] else f"builtin:{params['data']}"
        if not shareable_dataset(dataset):
            raise ShareError(f"data={params['data']} is not a built-in or downloadable dataset "
                             f"(choose from {', '.join(sorted(BUILTIN))}, or tv:{'/tv:'.join(sorted(DOWNLOADABLE))})")
    task = params.get("task", defaults.pretext.task)
    if task not in TASKS:
        raise ShareError(f"task={task} is not a pretext task here (choose from {', '.join(TASKS)})")
    values = {k.removeprefix(TASK_PREFIX): v for k, v in params.items() if k.startswith(TASK_PREFIX)}
    try:
        settings = settings_from(TASKS[task].Settings, values) if values or task != defaults.pretext.task \
            else defaults.pretext.settings
        backbone = params.get("backbone", defaults.pretext.backbone)
        if backbone not in BACKBONES:
            raise ShareError(f"backbone={backbone} is not one of {', '.join(BACKBONES)}")
        d = defaults.pretext
        pretext = replace(d, task=task, settings=settings, backbone=backbone,
                          image_size=_number(params, "size", int, 4, 128, d.image_size),
                          epochs=_number(params, "epochs", int, 1, MAX_EPOCHS, d.epochs),
                          batch_size=_choice(params, "batch", int, BATCH_SIZES, d.batch_size),
                          lr=_choice(params, "lr", float, LEARNING_RATES, d.lr),
                          seed=_number(params, "seed", int, 0, 10_000, d.seed))
        pretext.loop()  # its own checks
        s = defaults.split
        split = replace(s, test_fraction=_number(params, "test", float, 0.05, 0.5, s.test_fraction),
                        labels_per_class=_number(params, "labels", int, 1, 5000, s.labels_per_class),
                        seed=_number(params, "split_seed", int, 0, 10_000, s.seed))
        o = defaults.downstream
        downstream = replace(o, transfer=_choice(params, "transfer", str, tuple(Transfer), o.transfer),
                             block=_number(params, "block", int, 1, 8, o.block),
                             epochs=_number(params, "d_epochs", int, 1, MAX_EPOCHS, o.epochs),
                             lr=_choice(params, "d_lr", float, DOWNSTREAM_LEARNING_RATES, o.lr),
                             seeds=_number(params, "seeds", int, 1, 5, o.seeds),
                             batch_size=_number(params, "d_batch", int, 1, 1024, o.batch_size),
                             backbone_lr_scale=_number(params, "d_scale", float, 0.01, 1.0, o.backbone_lr_scale))
    except ShareError:
        raise
    except ValueError as exc:  # the task's own settings, or the loop's checks
        raise ShareError(str(exc)) from None
    return replace(defaults.with_task(task, settings), dataset=dataset, pretext=pretext, split=split,
                   downstream=downstream)
