"""Pretext tasks, found by name in `TASKS`: a new task is one file plus one line here.

`make_task` is the only way the library, the pages and the CLI build a task, so the gallery shows
the task that training uses (same settings, same seed).
"""
from __future__ import annotations

from ssl_core.pretext.base import (ClassificationTask, Option, PretextSample, PretextScore, PretextTask, Question, Quiz,
                                   ReconstructionTask, TaskSettings, option, options, parse_options, settings_dict,
                                   settings_from)
from ssl_core.pretext.colorization import ColorizationTask
from ssl_core.pretext.context import ContextTask
from ssl_core.pretext.contrastive import SimCLRTask
from ssl_core.pretext.inpainting import InpaintingTask
from ssl_core.pretext.jigsaw import JigsawTask, hamming_permutations
from ssl_core.pretext.rotation import RotationTask
from ssl_core.pretext.superres import SuperResolutionTask

TASKS: dict[str, type[PretextTask]] = {
    "rotation": RotationTask,
    "jigsaw": JigsawTask,
    "context": ContextTask,
    "colorization": ColorizationTask,
    "inpainting": InpaintingTask,
    "superres": SuperResolutionTask,
    "simclr": SimCLRTask,
}


def task_type(name: str) -> type[PretextTask]:
    if name not in TASKS:
        raise KeyError(f"unknown pretext task {name!r}; choose from {sorted(TASKS)}")
    return TASKS[name]


def make_task(name: str, settings: TaskSettings | None = None, seed: int = 0) -> PretextTask:
    return task_type(name)(settings, seed)


__all__ = ["TASKS", "ClassificationTask", "Option", "PretextSample", "PretextScore", "PretextTask", "Question", "Quiz",
           "ReconstructionTask", "TaskSettings", "JigsawTask", "RotationTask", "hamming_permutations",
           "make_task", "option", "options", "parse_options", "settings_dict", "settings_from", "task_type"]
