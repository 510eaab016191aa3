"""One file that takes a trained run home: the pretext network and the downstream classifiers (SSL
and from scratch), with everything needed to use them again without retraining: the settings,
class names, image size, normalisation and the results.

The file is a `torch.save` of plain values and tensors only, and it is read back with
`weights_only=True`, so loading a file from a stranger cannot run code. A file that is not one of
ours, or is damaged, raises `ModelFileError` with a message for the user.
"""
from __future__ import annotations

import argparse
import io
import pickle
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from ssl_core import augment
from ssl_core.comparison import Comparison
from ssl_core.datasets import ImageDataset
from ssl_core.downstream import MODE_TITLES
from ssl_core.images import ImageError
from ssl_core.inference import predict, prepare_photo
from ssl_core.models import Classifier, make_backbone
from ssl_core.pretext import make_task, task_type
from ssl_core.pretext.base import settings_dict, settings_from
from ssl_core.pretrain import PretrainConfig, PretrainResult, scored

FORMAT = "ssl-playground-models"
VERSION = 1
MAX_BYTES = 200 * 2**20


class ModelFileError(ValueError):
    """A file that cannot be read as our models; the message is for the user."""


@dataclass(eq=False)
class ModelFile:
    dataset: str
    class_names: tuple[str, ...]
    in_channels: int
    image_size: int
    domain: str
    allow_flip: bool
    pretext: PretrainConfig
    pretext_model: nn.Module
    classifiers: dict[str, nn.Module] = field(default_factory=dict)  # mode -> model, eval mode on the CPU
    accuracies: dict[str, float] = field(default_factory=dict)  # mode -> mean test accuracy
    normalisation: tuple[float, float] = (augment.MEAN, augment.STD)

    def pretrained(self, test_images: torch.Tensor) -> PretrainResult:
        """Its pretext network as a session's pretrained model (scored on `test_images`), ready to
        transfer or to continue training, without retraining."""
        return scored(replace(self.pretext, device="auto"), self.pretext_model, self.in_channels, test_images,
                      self.dataset)

    def titled(self) -> dict[str, nn.Module]:
        return {MODE_TITLES[mode]: model for mode, model in self.classifiers.items()}


def _classifier_record(mode: str, model: Classifier, accuracy: float) -> dict:
    return {"mode": mode, "block": model.block, "grid": model.grid, "frozen": model.frozen,
            "num_classes": model.head.out_features, "accuracy": accuracy,
            "state": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def to_bytes(pretrained: PretrainResult, comparison: Comparison | None, dataset: ImageDataset) -> bytes:
    """The run on `dataset` (its name, class names and kind of images go into the file)."""
    config = pretrained.config
    payload = {
        "format": FORMAT, "version": VERSION, "dataset": dataset.name, "class_names": list(dataset.class_names),
        "in_channels": pretrained.in_channels, "image_size": config.image_size, "domain": dataset.domain,
        "allow_flip": dataset.allow_flip, "normalisation": [augment.MEAN, augment.STD],
        "pretext": {"task": config.task, "settings": settings_dict(pretrained.task.settings),
                    "backbone": config.backbone, "image_size": config.image_size, "epochs": config.epochs,
                    "batch_size": config.batch_size, "lr": config.lr, "seed": config.seed},
        "pretext_state": {k: v.detach().cpu() for k, v in pretrained.model.state_dict().items()},
        "classifiers": [_classifier_record(mode, comparison.model(mode), comparison.mean(mode))
                        for mode in (comparison.runs if comparison else ())],
    }
    out = io.BytesIO()
    torch.save(payload, out)
    return out.getvalue()


def from_bytes(data: bytes) -> ModelFile:
    if len(data) > MAX_BYTES:
        raise ModelFileError(f"file too large ({len(data) / 2**20:.0f} MB; ours are a few MB)")
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError,
            AttributeError, TypeError) as exc:
        raise ModelFileError(f"not an SSL Playground model file, or damaged ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError("not an SSL Playground model file (a PyTorch file of another kind)")
    if payload.get("version") != VERSION:
        raise ModelFileError(f"made by another version of SSL Playground (file version {payload.get('version')})")
    try:
        return _rebuild(payload)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"the model file is damaged ({type(exc).__name__}: {exc})") from None


def _rebuild(payload: dict) -> ModelFile:
    p = payload["pretext"]
    settings = settings_from(task_type(p["task"]).Settings, p["settings"])
    config = PretrainConfig(task=p["task"], settings=settings, backbone=p["backbone"], image_size=p["image_size"],
                            epochs=p["epochs"], batch_size=p["batch_size"], lr=p["lr"], seed=p["seed"], device="cpu")
    channels = int(payload["in_channels"])
    pretext_model = make_task(config.task, settings, config.seed).build_model(make_backbone(config.backbone, channels))
    pretext_model.load_state_dict(payload["pretext_state"])
    classifiers, accuracies = {}, {}
    for record in payload["classifiers"]:
        model = Classifier(make_backbone(config.backbone, channels), int(record["num_classes"]), int(record["block"]),
                           int(record["grid"]), frozen=bool(record["frozen"]))
        model.load_state_dict(record["state"])
        classifiers[record["mode"]] = model.eval()
        accuracies[record["mode"]] = float(record["accuracy"])
    mean, std = payload["normalisation"]
    return ModelFile(str(payload["dataset"]), tuple(payload["class_names"]), channels, int(payload["image_size"]),
                     str(payload["domain"]), bool(payload["allow_flip"]), config, pretext_model.eval(), classifiers,
                     accuracies, (float(mean), float(std)))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ssl_core.model_file --load FILE PHOTO...`: what each saved model makes of each photo."""
    parser = argparse.ArgumentParser(prog="python -m ssl_core.model_file", description=main.__doc__)
    parser.add_argument("--load", required=True, type=Path, help="a file from the app's Download the models")
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=3, help="classes shown per model (default 3)")
    args = parser.parse_args(argv)
    try:
        models = from_bytes(args.load.read_bytes())
    except (ModelFileError, OSError) as exc:
        print(f"error: {args.load}: {exc}", file=sys.stderr)
        return 2
    if not models.classifiers:
        print(f"error: {args.load} holds a pretext model only: run the comparison in the app first", file=sys.stderr)
        return 2
    print(f"{args.load}: trained on {models.dataset}, {len(models.class_names)} classes, {models.image_size} px")
    failed = 0
    for path in args.photos:
        try:
            photo = prepare_photo(path.read_bytes(), models.image_size, models.in_channels,
                                  digit_like=not models.allow_flip and models.in_channels == 1)
        except (ImageError, OSError) as exc:
            print(f"{path}: skipped ({exc})")
            failed += 1
            continue
        for title, model in models.titled().items():
            probs = predict(model, photo.tensor)[0]
            top = probs.topk(min(args.top, len(probs)))
            shown = ", ".join(f"{models.class_names[i]} {p:.0%}" for p, i in zip(top.values.tolist(), top.indices.tolist()))
            print(f"{path}: {title}: {shown}")
    return 1 if failed == len(args.photos) else 0


if __name__ == "__main__":
    sys.exit(main())
