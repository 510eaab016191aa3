"""Visitors' workspaces on disk, so a server restart does not lose what they made.

One SQLite database (the standard library's) holds each workspace's token, browser digest, when it was last
seen (wall clock), its current dataset, settings and run history; each of its own datasets is a file beside
it, written with `torch.save` and read back with `weights_only=True` (tensors, strings and numbers only: no
code runs on load), and so are the photos of the dataset they are building in the browser. A workspace unseen
for longer than `keep_s` is deleted, files and all, the next time the store is opened or asked for it.

A pretext training is written down when it starts (so one waiting in line goes back in line after a restart)
and leaves its weights after each epoch (so one cut short resumes from its last epoch, and one that ended is a
model to use). A finished comparison leaves its models as a model file (`ssl_core.engine.model_file`, read back
through its checks). A comparison cut short by a restart is not kept: its settings are, to run it again.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ssl_core.app.history import RunRecord
from ssl_core.app.settings import Settings
from ssl_core.app.share import ShareError, from_params, to_params
from ssl_core.data.builder import DatasetBuilder, Photo
from ssl_core.data.datasets import ImageDataset, default_data_root
from ssl_core.data.splits import SplitConfig
from ssl_core.data.user_images import STORE_SIZE
from ssl_core.engine.model_file import ModelFile, ModelFileError, from_bytes
from ssl_core.engine.pretrain import PretrainConfig, initial_backbone

SCHEMA = """
CREATE TABLE IF NOT EXISTS workspace (token TEXT PRIMARY KEY, browser TEXT, seen REAL NOT NULL,
                                      dataset_id TEXT, setup TEXT);
CREATE TABLE IF NOT EXISTS dataset (token TEXT NOT NULL, dataset_id TEXT NOT NULL, file TEXT NOT NULL,
                                    added REAL NOT NULL, PRIMARY KEY (token, dataset_id));
CREATE TABLE IF NOT EXISTS run (token TEXT NOT NULL, number INTEGER NOT NULL, record TEXT NOT NULL,
                                PRIMARY KEY (token, number));
CREATE TABLE IF NOT EXISTS training (token TEXT PRIMARY KEY, dataset_id TEXT NOT NULL, epoch INTEGER NOT NULL,
                                     config TEXT NOT NULL, file TEXT NOT NULL, finished INTEGER NOT NULL);
"""
BUILDER_FILE, MODELS_FILE, CHECKPOINT_FILE = "builder.pt", "models.pt", "checkpoint.pt"
DEFAULT_SETUP = Settings(None)
STATE_ENV = "SSL_PLAYGROUND_STATE"


def default_state_root() -> Path:
    """`$SSL_PLAYGROUND_STATE`, else `workspaces/` in the data folder."""
    env = os.environ.get(STATE_ENV)
    return Path(env).expanduser() if env else default_data_root() / "workspaces"


@dataclass(frozen=True)
class Checkpoint:
    """The visitor's latest pretext training on split `split` of `dataset_id`: its weights after `epoch` of
    `config.epochs`, and whether it had ended (finished or stopped: a model to use) or a restart cut it short
    (a training to resume). No weights (`state` None): it had not finished an epoch, so it starts again."""
    dataset_id: str
    epoch: int
    config: PretrainConfig
    state: dict[str, torch.Tensor] | None
    finished: bool = False
    split: SplitConfig = SplitConfig()

    @property
    def waiting(self) -> bool:
        """Waiting in line (or in its first epoch) when the server stopped: it goes back in line."""
        return self.state is None and not self.finished

    def network(self, in_channels: int) -> nn.Module:
        """The interrupted network with its weights after `epoch`; ValueError when they do not fit it."""
        model = self.config.make_task().build_model(initial_backbone(self.config, in_channels))
        if self.state is None:
            raise ValueError("the training had not finished an epoch: there are no weights to resume from")
        try:
            model.load_state_dict(self.state)
        except (RuntimeError, KeyError, TypeError):
            raise ValueError("the checkpoint does not fit its network (damaged?); start the training afresh") from None
        return model


@dataclass
class Saved:
    """A workspace as it was stored: enough to rebuild it after a restart."""
    token: str
    browser: str | None
    seen: float  # time.time() when last seen
    dataset_id: str | None
    setup: Settings | None
    datasets: dict[str, ImageDataset] = field(default_factory=dict)  # oldest first
    history: list[RunRecord] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # dataset files that could not be read back
    checkpoint: Checkpoint | None = None  # the latest pretext training, ended, interrupted or waiting
    builder: DatasetBuilder | None = None  # the photos they were putting together in the browser
    models: ModelFile | None = None  # their latest finished comparison's models


class WorkspaceStore:
    """Thread-safe; every call is one short transaction."""

    def __init__(self, root: Path, keep_s: float, clock=time.time) -> None:
        self.root = Path(root)
        self.keep_s = keep_s
        self._clock = clock
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.root / "workspaces.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")  # a kill -9 mid-write loses at most that write
        self._db.executescript(SCHEMA)
        self.expire()

    # -- writing ------------------------------------------------------------------------------
    def save(self, token: str, browser: str | None, dataset_id: str | None, setup: Settings | None) -> None:
        params = json.dumps(to_params(setup)) if setup is not None else None
        with self._lock:
            self._db.execute("INSERT INTO workspace VALUES (?, ?, ?, ?, ?) ON CONFLICT(token) DO UPDATE SET "
                             "browser=excluded.browser, seen=excluded.seen, dataset_id=excluded.dataset_id, "
                             "setup=excluded.setup", (token, browser, self._clock(), dataset_id, params))

    def seen(self, token: str) -> None:
        with self._lock:
            self._db.execute("UPDATE workspace SET seen=? WHERE token=?", (self._clock(), token))

    def put_dataset(self, token: str, dataset_id: str, dataset: ImageDataset) -> None:
        folder = self._folder(token)
        folder.mkdir(parents=True, exist_ok=True)
        file = folder / f"{len(list(folder.iterdir()))}-{int(self._clock() * 1000)}.pt"
        torch.save({"name": dataset.name, "images": dataset.images, "labels": dataset.labels,
                    "class_names": list(dataset.class_names), "allow_flip": dataset.allow_flip,
                    "skipped": [list(s) for s in dataset.skipped], "domain": dataset.domain}, file)
        with self._lock:
            old = self._db.execute("SELECT file FROM dataset WHERE token=? AND dataset_id=?",
                                   (token, dataset_id)).fetchone()
            self._db.execute("INSERT OR REPLACE INTO dataset VALUES (?, ?, ?, ?)",
                             (token, dataset_id, file.name, self._clock()))
        if old and old[0] != file.name:
            (folder / old[0]).unlink(missing_ok=True)

    def drop_dataset(self, token: str, dataset_id: str) -> None:
        with self._lock:
            row = self._db.execute("SELECT file FROM dataset WHERE token=? AND dataset_id=?",
                                   (token, dataset_id)).fetchone()
            self._db.execute("DELETE FROM dataset WHERE token=? AND dataset_id=?", (token, dataset_id))
        if row:
            (self._folder(token) / row[0]).unlink(missing_ok=True)

    def put_run(self, token: str, run: RunRecord, keep: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO run VALUES (?, ?, ?)", (token, run.number, json.dumps(asdict(run))))
            self._db.execute("DELETE FROM run WHERE token=? AND number <= ?", (token, run.number - keep))

    def put_checkpoint(self, token: str, dataset_id: str, epoch: int, config: PretrainConfig,
                       state: dict[str, torch.Tensor] | None, split: SplitConfig = SplitConfig()) -> None:
        """The visitor's pretext training on `split` of `dataset_id`: its weights after `epoch` (each epoch
        replaces the last), or, with no `state`, a training just started (waiting for its slot)."""
        if state is not None:
            self._write(token, CHECKPOINT_FILE, {name: tensor.detach().cpu() for name, tensor in state.items()})
        params = json.dumps(to_params(Settings(None, config, split)))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO training VALUES (?, ?, ?, ?, ?, 0)",
                             (token, dataset_id, epoch, params, CHECKPOINT_FILE if state is not None else ""))

    def put_builder(self, token: str, builder: DatasetBuilder) -> None:
        """The photos the visitor is putting together in the browser (each change replaces the last)."""
        def bucket(photos: list[Photo]) -> dict:
            pixels = torch.from_numpy(np.stack([p.pixels for p in photos])) if photos else torch.zeros(0)
            return {"pixels": pixels, "names": [p.name for p in photos], "digests": [p.digest for p in photos]}

        self._write(token, BUILDER_FILE, {"name": builder.name, "max_photos": builder.max_photos,
                                          "classes": [[name, bucket(photos)] for name, photos in
                                                      builder.classes.items()],
                                          "unlabeled": bucket(builder.unlabeled)})

    def put_models(self, token: str, data: bytes) -> None:
        """The latest finished comparison's models, as a model file (`ssl_core.engine.model_file.to_bytes`)."""
        folder = self._folder(token)
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / (MODELS_FILE + ".part")
        part.write_bytes(data)
        part.replace(folder / MODELS_FILE)

    def _write(self, token: str, name: str, payload: object) -> None:
        """`torch.save` through a side file: a kill mid-write leaves the previous version whole."""
        folder = self._folder(token)
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / (name + ".part")
        torch.save(payload, part)
        part.replace(folder / name)

    def finish_checkpoint(self, token: str) -> None:
        """The training ended (finished or stopped): its last weights are a model to use, not to resume."""
        with self._lock:
            self._db.execute("UPDATE training SET finished=1 WHERE token=?", (token,))

    def drop_checkpoint(self, token: str) -> None:
        """The training was cancelled before it ran: nothing to put back in line."""
        with self._lock:
            self._db.execute("DELETE FROM training WHERE token=?", (token,))

    def drop(self, token: str) -> None:
        """Forget a workspace entirely (its visitor left)."""
        with self._lock:
            for table in ("workspace", "dataset", "run", "training"):
                self._db.execute(f"DELETE FROM {table} WHERE token=?", (token,))  # noqa: S608 (fixed names)
        shutil.rmtree(self._folder(token), ignore_errors=True)

    def expire(self) -> list[str]:
        """Drop the workspaces unseen for longer than `keep_s`; their tokens."""
        with self._lock:
            gone = [t for (t,) in self._db.execute("SELECT token FROM workspace WHERE seen < ?",
                                                   (self._clock() - self.keep_s,))]
        for token in gone:
            self.drop(token)
        return gone

    # -- reading ------------------------------------------------------------------------------
    def load(self, token: str) -> Saved | None:
        """The stored workspace of `token`, if it is there and not expired."""
        self.expire()
        with self._lock:
            row = self._db.execute("SELECT browser, seen, dataset_id, setup FROM workspace WHERE token=?",
                                   (token,)).fetchone()
            if row is None:
                return None
            files = self._db.execute("SELECT dataset_id, file FROM dataset WHERE token=? ORDER BY added",
                                     (token,)).fetchall()
            runs = [r for (r,) in self._db.execute("SELECT record FROM run WHERE token=? ORDER BY number", (token,))]
            point = self._db.execute("SELECT dataset_id, epoch, config, file, finished FROM training WHERE token=?",
                                     (token,)).fetchone()
        saved = Saved(token, row[0], row[1], row[2], _setup(row[3]))
        folder = self._folder(token)
        if point is not None:
            setup = _setup(point[2])
            try:
                state = torch.load(folder / point[3], weights_only=True) if point[3] else None
                if setup is not None and (state is None or isinstance(state, dict)):
                    saved.checkpoint = Checkpoint(point[0], int(point[1]), setup.pretext, state, bool(point[4]),
                                                  setup.split)
            except Exception:  # cut short or tampered with: the training is simply not resumable
                pass
        if (folder / BUILDER_FILE).exists():
            try:
                saved.builder = _builder(folder / BUILDER_FILE)
            except Exception:  # damaged: the visitor starts building afresh
                pass
        if (folder / MODELS_FILE).exists():
            try:
                saved.models = from_bytes((folder / MODELS_FILE).read_bytes())
            except (ModelFileError, OSError):
                pass
        for dataset_id, file in files:
            try:
                saved.datasets[dataset_id] = _dataset(self._folder(token) / file)
            except Exception:  # a file cut short by a crash, or tampered with: the rest still comes back
                saved.damaged.append(dataset_id)
        for run in runs:
            try:
                saved.history.append(RunRecord.from_json(json.loads(run)))
            except (ValueError, TypeError, KeyError):
                continue
        return saved

    def _folder(self, token: str) -> Path:
        return self.root / token


def _setup(params: str | None) -> Settings | None:
    if not params:
        return None
    try:
        return from_params(json.loads(params), DEFAULT_SETUP)
    except (ShareError, ValueError, TypeError):
        return None


def _dataset(file: Path) -> ImageDataset:
    payload = torch.load(file, weights_only=True)
    return ImageDataset(str(payload["name"]), payload["images"], payload["labels"],
                        tuple(map(str, payload["class_names"])), bool(payload["allow_flip"]),
                        tuple((str(f), str(r)) for f, r in payload["skipped"]), str(payload["domain"]))


def _builder(file: Path) -> DatasetBuilder:
    payload = torch.load(file, weights_only=True)

    def photos(bucket: dict) -> list[Photo]:
        pixels, names, digests = bucket["pixels"], bucket["names"], bucket["digests"]
        if len(names) != len(digests) or (names and (pixels.dtype != torch.uint8 or len(pixels) != len(names)
                                                     or pixels.shape[1:] != (STORE_SIZE, STORE_SIZE, 3))):
            raise ValueError("damaged builder file")
        return [Photo(str(n), pixels[i].numpy(), str(d)) for i, (n, d) in enumerate(zip(names, digests))]

    builder = DatasetBuilder(str(payload["name"]), int(payload["max_photos"]))
    for name, bucket in payload["classes"]:
        builder.classes[builder.check_name(str(name))] = photos(bucket)
    builder.unlabeled = photos(payload["unlabeled"])
    return builder


