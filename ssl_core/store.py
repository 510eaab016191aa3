"""Visitors' workspaces on disk, so a server restart does not lose what they made.

One SQLite database (the standard library's) holds each workspace's token, browser digest, when it was last
seen (wall clock), its current dataset, settings and run history; each of its own datasets is a file beside
it, written with `torch.save` and read back with `weights_only=True` (tensors, strings and numbers only: no
code runs on load). A workspace unseen for longer than `keep_s` is deleted, files and all, the next time the
store is opened or asked for it. A pretext training leaves its weights after each epoch, so a restart can
resume it, or give back its model once it has ended; comparisons and waiting trainings are not kept (README,
"Running it for others").
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

import torch
from torch import nn

from ssl_core.datasets import ImageDataset, default_data_root
from ssl_core.history import RunRecord
from ssl_core.pretrain import PretrainConfig, initial_backbone
from ssl_core.share import DownstreamChoice, Setup, ShareError, from_params, to_params
from ssl_core.splits import SplitConfig

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
DEFAULT_SETUP = Setup(None, PretrainConfig(), SplitConfig(), DownstreamChoice())
STATE_ENV = "SSL_PLAYGROUND_STATE"


def default_state_root() -> Path:
    """`$SSL_PLAYGROUND_STATE`, else `workspaces/` in the data folder."""
    env = os.environ.get(STATE_ENV)
    return Path(env).expanduser() if env else default_data_root() / "workspaces"


@dataclass(frozen=True)
class Checkpoint:
    """The visitor's latest pretext training: its weights after `epoch` of `config.epochs`, and whether it had
    ended (finished or stopped: a model to use) or a restart cut it short (a training to resume)."""
    dataset_id: str
    epoch: int
    config: PretrainConfig
    state: dict[str, torch.Tensor]
    finished: bool = False

    def network(self, in_channels: int) -> nn.Module:
        """The interrupted network with its weights after `epoch`; ValueError when they do not fit it."""
        model = self.config.make_task().build_model(initial_backbone(self.config, in_channels))
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
    setup: Setup | None
    datasets: dict[str, ImageDataset] = field(default_factory=dict)  # oldest first
    history: list[RunRecord] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # dataset files that could not be read back
    checkpoint: Checkpoint | None = None  # the latest pretext training, ended or interrupted


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
    def save(self, token: str, browser: str | None, dataset_id: str | None, setup: Setup | None) -> None:
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
                       state: dict[str, torch.Tensor]) -> None:
        """The running pretext training's weights after `epoch` (each epoch replaces the last)."""
        folder = self._folder(token)
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / "checkpoint.pt.part"
        torch.save({name: tensor.detach().cpu() for name, tensor in state.items()}, part)
        part.replace(folder / "checkpoint.pt")  # atomic: a kill mid-write leaves the previous epoch's
        params = json.dumps(to_params(Setup(None, config, SplitConfig(), DownstreamChoice())))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO training VALUES (?, ?, ?, ?, ?, 0)",
                             (token, dataset_id, epoch, params, "checkpoint.pt"))

    def finish_checkpoint(self, token: str) -> None:
        """The training ended (finished or stopped): its last weights are a model to use, not to resume."""
        with self._lock:
            self._db.execute("UPDATE training SET finished=1 WHERE token=?", (token,))

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
        if point is not None:
            setup = _setup(point[2])
            try:
                state = torch.load(self._folder(token) / point[3], weights_only=True)
                if setup is not None and isinstance(state, dict):
                    saved.checkpoint = Checkpoint(point[0], int(point[1]), setup.pretext, state, bool(point[4]))
            except Exception:  # cut short or tampered with: the training is simply not resumable
                pass
        for dataset_id, file in files:
            try:
                saved.datasets[dataset_id] = _dataset(self._folder(token) / file)
            except Exception:  # a file cut short by a crash, or tampered with: the rest still comes back
                saved.damaged.append(dataset_id)
        for run in runs:
            try:
                saved.history.append(_run(json.loads(run)))
            except (ValueError, TypeError, KeyError):
                continue
        return saved

    def _folder(self, token: str) -> Path:
        return self.root / token


def _setup(params: str | None) -> Setup | None:
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


def _run(record: dict) -> RunRecord:
    record["steps"] = tuple(record["steps"])
    record["epochs"] = tuple(record["epochs"])
    return RunRecord(**record)
