"""Pretext tasks, registered by name: a new task is one file plus one line here."""
from __future__ import annotations

from collections.abc import Callable

from ssl_core.pretext.base import PretextSample, PretextTask
from ssl_core.pretext.jigsaw import JigsawTask, hamming_permutations
from ssl_core.pretext.rotation import RotationTask

TASKS: dict[str, Callable[..., PretextTask]] = {
    "rotation": RotationTask,
    "jigsaw": JigsawTask,
}


def make_task(name: str, **settings) -> PretextTask:
    if name not in TASKS:
        raise KeyError(f"unknown pretext task {name!r}; choose from {sorted(TASKS)}")
    return TASKS[name](**settings)


__all__ = ["TASKS", "PretextSample", "PretextTask", "JigsawTask", "RotationTask",
           "hamming_permutations", "make_task"]
