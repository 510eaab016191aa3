"""One file that takes a trained run home: the pretext network and the downstream classifiers (SSL
and from scratch), with everything needed to use them again without retraining: the settings,
class names, image size, normalisation and the results.

The file is a `torch.save` of plain values and tensors only, and it is read back with
`weights_only=True`, so loading a file from a stranger cannot run code. A file that is not one of
ours, or is damaged, raises `ModelFileError` with a message for the user.
"""
from __future__ import annotations

import io
import math
import pickle
import zipfile
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from ssl_core.analysis.comparison import Comparison
from ssl_core.data import augment
from ssl_core.data.datasets import ImageDataset
from ssl_core.engine import precision
from ssl_core.engine.downstream import MODE_TITLES
from ssl_core.engine.inference import PhotoModel, photo_models
from ssl_core.engine.models import BACKBONES, Classifier, make_backbone
from ssl_core.engine.pretrain import PretrainConfig, PretrainResult, scored
from ssl_core.pretext import make_task, task_type
from ssl_core.pretext.base import settings_dict, settings_from

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
    temperatures: dict[str, float] = field(default_factory=dict)  # mode -> held-out temperature (`calibration`)
    chance: float | None = None  # the test set's chance level and size, for the "it is guessing" caveat
    n_test: int | None = None
    normalisation: tuple[float, float] = (augment.MEAN, augment.STD)

    def pretrained(self, test_images: torch.Tensor) -> PretrainResult:
        """Its pretext network as a session's pretrained model (scored on `test_images`), ready to
        transfer or to continue training, without retraining."""
        return scored(replace(self.pretext, device="auto"), self.pretext_model, self.in_channels, test_images,
                      self.dataset)

    def titled(self) -> dict[str, nn.Module]:
        return {MODE_TITLES[mode]: model for mode, model in self.classifiers.items()}

    def photo_models(self) -> list[PhotoModel]:
        """Its classifiers for the photo panel: the best against scratch first, scratch last."""
        ssl = [m for m in self.accuracies if m != "scratch"]
        headline = max(ssl, key=self.accuracies.get) if ssl else None
        return photo_models(self.classifiers, self.temperatures, self.accuracies, self.chance, self.n_test, headline)


def _classifier_record(mode: str, model: Classifier, accuracy: float, temperature: float) -> dict:
    return {"mode": mode, "block": model.block, "grid": model.grid, "frozen": model.frozen,
            "num_classes": model.head.out_features, "accuracy": accuracy, "temperature": temperature,
            "precision": precision.of(model).value,
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
                    "batch_size": config.batch_size, "lr": config.lr, "seed": config.seed,
                    "precision": precision.of(pretrained.model).value},
        "pretext_state": {k: v.detach().cpu() for k, v in pretrained.model.state_dict().items()},
        "classifiers": [_classifier_record(mode, comparison.model(mode), comparison.mean(mode),
                                           comparison.runs[mode][0].evaluation.temperature)
                        for mode in (comparison.runs if comparison else ()) if comparison.runs[mode]],
    }
    if comparison is not None:
        payload |= {"chance": comparison.chance, "n_test": comparison.n_test}
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
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError, ArithmeticError) as exc:
        raise ModelFileError(f"the model file is damaged ({type(exc).__name__}: {str(exc)[:300]})") from None


MAX_IMAGE_SIZE = 256
MAX_CLASSES = 1000
MAX_NAME = 200


def _int(value, low: int, high: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} {value!r} is not a whole number from {low} to {high}")
    return value


def _text(value, name: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise ValueError(f"{name} is not a text of at most {MAX_NAME} characters")
    return value


def _check(payload: dict) -> None:
    """Every declared size against the bounds our files keep, before anything is built: a crafted
    file cannot make the process allocate (an image size of 300,000 px, a grid of 3,000, six million
    classes) or name a mode, backbone or class list that does not fit."""
    p = payload["pretext"]
    if not isinstance(p, dict) or not isinstance(payload["classifiers"], list):
        raise ValueError("pretext or classifiers is not a record")
    if payload["in_channels"] not in (1, 3) or isinstance(payload["in_channels"], bool):
        raise ValueError(f"in_channels {payload['in_channels']!r} is not 1 or 3")
    size = _int(payload["image_size"], 4, MAX_IMAGE_SIZE, "image_size")
    if _int(p["image_size"], 4, MAX_IMAGE_SIZE, "pretext image_size") != size:
        raise ValueError("the pretext and the classifiers declare different image sizes")
    if p["backbone"] not in BACKBONES:
        raise ValueError(f"unknown backbone {p['backbone']!r}")
    _int(p["epochs"], 1, 100_000, "epochs"), _int(p["batch_size"], 1, 65_536, "batch_size")
    _int(p["seed"], 0, 2**31, "seed"), _bounded(p["lr"], 1e-8, 10.0, "lr")
    names = payload["class_names"]
    if not isinstance(names, list) or len(names) > MAX_CLASSES:
        raise ValueError(f"class_names is not a list of at most {MAX_CLASSES}")
    for name in names:
        _text(name, "a class name")
    _text(payload["dataset"], "dataset"), _text(payload["domain"], "domain")
    if len(payload["classifiers"]) > len(MODE_TITLES):
        raise ValueError("more classifiers than modes")
    for record in payload["classifiers"]:
        if not isinstance(record, dict) or record.get("mode") not in MODE_TITLES:
            raise ValueError(f"unknown classifier mode {record.get('mode') if isinstance(record, dict) else record!r}")
        if _int(record["num_classes"], 2, MAX_CLASSES, "num_classes") != len(names):
            raise ValueError(f"a classifier has {record['num_classes']} classes but the file names {len(names)}")
        _int(record["block"], 1, 4, "block"), _int(record["grid"], 1, 4, "grid")
        _bounded(record["accuracy"], 0.0, 1.0, "accuracy")
    mean, std = payload["normalisation"]
    _bounded(mean, 0.0, 1.0, "normalisation mean"), _bounded(std, 1e-3, 1.0, "normalisation std")


def _rebuild(payload: dict) -> ModelFile:
    _check(payload)
    p = payload["pretext"]
    settings = settings_from(task_type(p["task"]).Settings, p["settings"])
    config = PretrainConfig(task=p["task"], settings=settings, backbone=p["backbone"], image_size=p["image_size"],
                            epochs=p["epochs"], batch_size=p["batch_size"], lr=p["lr"], seed=p["seed"], device="cpu")
    channels = int(payload["in_channels"])
    pretext_model = make_task(config.task, settings, config.seed).build_model(make_backbone(config.backbone, channels))
    pretext_model.load_state_dict(payload["pretext_state"])
    _scored_as_trained(pretext_model, p.get("precision", "fp32"))
    classifiers, accuracies, temperatures = {}, {}, {}
    for record in payload["classifiers"]:
        model = Classifier(make_backbone(config.backbone, channels), int(record["num_classes"]), int(record["block"]),
                           int(record["grid"]), frozen=bool(record["frozen"]))
        model.load_state_dict(record["state"])
        _scored_as_trained(model, record.get("precision", "fp32"))
        classifiers[record["mode"]] = model.eval()
        accuracies[record["mode"]] = float(record["accuracy"])
        temperatures[record["mode"]] = _bounded(record.get("temperature", 1.0), 0.01, 1000.0, "temperature")
    mean, std = payload["normalisation"]
    chance = _bounded(payload["chance"], 0.0, 1.0, "chance") if "chance" in payload else None
    n_test = int(_bounded(payload["n_test"], 1, 10**9, "n_test")) if "n_test" in payload else None
    return ModelFile(str(payload["dataset"]), tuple(payload["class_names"]), channels, int(payload["image_size"]),
                     str(payload["domain"]), bool(payload["allow_flip"]), config, pretext_model.eval(), classifiers,
                     accuracies, temperatures, chance, n_test, (float(mean), float(std)))


def _scored_as_trained(model: nn.Module, name: object) -> None:
    """Scores a loaded model in the precision it trained in (bf16 where this CPU has it), so a file
    gives the same figures as the run that wrote it."""
    if name not in {p.value for p in precision.Precision}:
        raise ValueError(f"unknown precision {name!r}")
    chosen = precision.Precision(name)
    if chosen not in precision.candidates(torch.device("cpu")):
        chosen = precision.Precision.FP32
    precision.apply(model, chosen)


def _bounded(value, low: float, high: float, name: str) -> float:
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} {number!r} is outside {low:g} to {high:g}")
    return number
