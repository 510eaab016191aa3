"""What each visitor owns: their datasets and jobs, behind an unguessable token.

A browser session is known by a token the server mints (never one a URL proposes, so a link cannot
plant a workspace for someone else to fill). The token travels in the visitor's own URL so a reload
finds the workspace again; job ids and dataset ids never do, and nothing here is reachable without
the token. Where the browser is known (a cookie it holds, not the URL), the workspace is also bound
to it: a URL copied into another browser opens a fresh workspace. Memory is bounded per visitor (least recently used dataset goes first) and in total (a new
dataset is refused with a reason). A visitor unseen for `session_grace_s` is gone: their jobs are
stopped and their data released.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ssl_core.app.deployment import MB, Limits
from ssl_core.app.history import HISTORY_RUNS, RunRecord, record
from ssl_core.app.jobs import Job, JobRegistry
from ssl_core.app.settings import Settings
from ssl_core.app.store import Checkpoint, WorkspaceStore
from ssl_core.data.builder import DatasetBuilder
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import SplitConfig
from ssl_core.engine.model_file import ModelFile
from ssl_core.engine.pretrain import PretrainConfig

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")
REAP_EVERY_S = 20.0


class CapacityError(ValueError):
    """A dataset refused because the server's memory for visitors' data is full; the message is for them."""


def dataset_bytes(dataset: ImageDataset) -> int:
    return dataset.images.nelement() * dataset.images.element_size() + dataset.labels.nelement() * 8


@dataclass
class Workspace:
    token: str
    browser: str | None = None  # a digest of a cookie only this browser holds, when there is one
    dataset_id: str | None = None
    datasets: OrderedDict[str, ImageDataset] = field(default_factory=OrderedDict)
    jobs: dict[str, str] = field(default_factory=dict)  # the page's key ("train_job") -> job id
    job_datasets: dict[str, str] = field(default_factory=dict)  # the page's key -> the dataset it ran on
    last_seen: float = field(default_factory=time.monotonic)
    builder: DatasetBuilder | None = None  # the dataset they are making in the browser
    history: list[RunRecord] = field(default_factory=list)  # their runs that ended, oldest first
    restored: bool = False  # rebuilt from the store after a server restart
    interrupted: Checkpoint | None = None  # after a restart: their latest pretext training, to resume or use
    kept_models: ModelFile | None = None  # after a restart: their latest comparison's models
    builder_saved: str = ""  # the digest of the builder as the store last kept it
    setup: Settings | None = None  # their settings as the last page run left them: a reload starts from these
    runs_ended: int = 0

    @property
    def data_bytes(self) -> int:
        return sum(dataset_bytes(d) for d in self.datasets.values()) + (self.builder.nbytes if self.builder else 0)


class Workspaces:
    """Every visitor's workspace and the job registry they share (thread-safe)."""

    def __init__(self, limits: Limits = Limits(), clock: Callable[[], float] = time.monotonic,
                 store: WorkspaceStore | None = None) -> None:
        self.limits = limits
        self.store = store  # where workspaces outlive a restart; None: memory only
        self.jobs = JobRegistry(max_running=limits.running_jobs, max_waiting=limits.waiting_jobs,
                                keep_seconds=limits.keep_finished_s, max_pause_s=limits.pause_s)
        self._clock = clock
        self._spaces: dict[str, Workspace] = {}
        self._lock = threading.RLock()
        self._start_reaper()

    # -- sessions ---------------------------------------------------------------------------
    def open(self, token: str | None, browser: str | None = None) -> Workspace:
        """The workspace of `token` if the server made it for this browser and it is still alive;
        otherwise a new one with a fresh token."""
        with self._lock:
            self.reap()
            valid = bool(token and TOKEN_PATTERN.fullmatch(token))
            space = self._spaces.get(token) if valid else None
            if space is None and valid and self.store is not None:
                space = self._restore(token)
            if space is not None and space.browser and browser and space.browser != browser:
                space = None
            if space is None:
                space = Workspace(secrets.token_urlsafe(24), browser, last_seen=self._clock())
                self._spaces[space.token] = space
                self.save(space)
            space.last_seen = self._clock()
            return space

    def _restore(self, token: str) -> Workspace | None:
        """The workspace the store kept for `token` (the server restarted since), back in memory."""
        saved = self.store.load(token)
        if saved is None:
            return None
        space = Workspace(token, saved.browser, saved.dataset_id, last_seen=self._clock(), setup=saved.setup,
                          history=saved.history[-HISTORY_RUNS:], restored=True, interrupted=saved.checkpoint,
                          kept_models=saved.models, builder=saved.builder,
                          builder_saved=saved.builder.digest() if saved.builder else "")
        space.runs_ended = max((run.number for run in saved.history), default=0)
        for dataset_id, dataset in list(saved.datasets.items())[-self.limits.datasets_per_session:]:
            space.datasets[dataset_id] = dataset
        if space.dataset_id and space.dataset_id not in space.datasets and not space.dataset_id.startswith(
                ("builtin:", "tv:")):
            space.dataset_id = None  # its file did not come back: the default dataset is shown
        self._spaces[token] = space
        return space

    def touch(self, space: Workspace) -> None:
        """The visitor is still there (every page run and the sidebar's heartbeat say so)."""
        with self._lock:
            space.last_seen = self._clock()
        if self.store is not None:
            self.store.seen(space.token)

    def save(self, space: Workspace) -> None:
        """Keep the visitor's current dataset and settings in the store (each page run does)."""
        if self.store is not None:
            self.store.save(space.token, space.browser, space.dataset_id, space.setup)

    def save_builder(self, space: Workspace) -> None:
        """Keep the photos the visitor is building in the browser, when they changed since last kept."""
        if self.store is None or space.builder is None:
            return
        digest = space.builder.digest()
        if digest != space.builder_saved:
            self.store.put_builder(space.token, space.builder)
            space.builder_saved = digest

    def reap(self) -> list[str]:
        """Close the workspaces of visitors gone longer than the grace period; their tokens."""
        with self._lock:
            now = self._clock()
            gone = [t for t, s in self._spaces.items() if now - s.last_seen > self.limits.session_grace_s]
            for token in gone:
                self.close(self._spaces[token])
            return gone

    def close(self, space: Workspace) -> None:
        with self._lock:
            for job_id in space.jobs.values():
                self.jobs.forget(job_id)
            space.jobs.clear()
            space.datasets.clear()
            space.builder = None
            space.history.clear()
            self._spaces.pop(space.token, None)
        if self.store is not None:
            self.store.drop(space.token)

    def _start_reaper(self) -> None:
        """Visitors leave without saying so: look for gone ones now and then, even when nobody runs a page."""
        ref = weakref.ref(self)

        def loop() -> None:
            while True:
                time.sleep(REAP_EVERY_S)
                spaces = ref()
                if spaces is None:
                    return
                spaces.reap()
                del spaces

        threading.Thread(target=loop, name="workspace-reaper", daemon=True).start()

    # -- datasets -----------------------------------------------------------------------------
    @property
    def data_bytes(self) -> int:
        with self._lock:
            return sum(s.data_bytes for s in self._spaces.values())

    def add_dataset(self, space: Workspace, dataset_id: str, dataset: ImageDataset) -> list[str]:
        """Keep `dataset` for this visitor; the names of their datasets dropped to make room. Raises
        CapacityError when it cannot fit even then."""
        size = dataset_bytes(dataset)
        limits = self.limits
        if size > limits.session_mb * MB:
            raise CapacityError(f"these images take {size / MB:,.0f} MB in memory; one visitor may keep "
                                f"{limits.session_mb:,} MB here. Use fewer images")
        with self._lock:
            others = self.data_bytes - space.data_bytes
            if others + size > limits.total_mb * MB:
                raise CapacityError(f"the server holds as many visitors' images as it can "
                                    f"({limits.total_mb:,} MB); try again in a few minutes or use a built-in dataset")
            space.datasets.pop(dataset_id, None)
            evicted: dict[str, str] = {}  # id -> name
            while space.datasets and (len(space.datasets) >= limits.datasets_per_session
                                      or space.data_bytes + size > limits.session_mb * MB
                                      or others + space.data_bytes + size > limits.total_mb * MB):
                idle = [k for k in space.datasets if k != space.dataset_id]  # the one in use goes last
                victim = idle[0] if idle else next(iter(space.datasets))
                evicted[victim] = space.datasets.pop(victim).name
            space.datasets[dataset_id] = dataset
        if self.store is not None:
            for victim in evicted:
                self.store.drop_dataset(space.token, victim)
            self.store.put_dataset(space.token, dataset_id, dataset)
            self.save(space)
        return list(evicted.values())

    def dataset(self, space: Workspace, dataset_id: str) -> ImageDataset | None:
        with self._lock:
            dataset = space.datasets.get(dataset_id)
            if dataset is not None:
                space.datasets.move_to_end(dataset_id)
            return dataset

    # -- jobs ---------------------------------------------------------------------------------
    def start_job(self, space: Workspace, key: str, kind: str, title: str, work: Callable[[Job], Any],
                  after: Job | None = None, settings: str = "", dataset: str = "",
                  checkpoint: "Checkpointer | None" = None, keep: Callable[[Any], bytes] | None = None) -> Job:
        """Start the visitor's job `key` on the dataset named `dataset`, replacing their previous one of that
        key (refused while it runs); once it ends it goes into their history, described by `settings`.
        A pretext job's `checkpoint` (the one its work saves through) is written down now, so a restart puts
        it back in line; `keep(result)` gives the bytes to keep of a job that produced a result (a
        comparison's model file)."""
        def remember(job: Job) -> None:
            stored = self.store is not None and space.token in self._spaces  # not once the visitor has left
            if not job.ran:  # cancelled in line: nothing ran, nothing to tell or to put back in line
                if stored and checkpoint is not None:
                    self.store.drop_checkpoint(space.token)
                return
            snap = job.snapshot()
            with self._lock:
                space.runs_ended += 1
                space.history.append(record(space.runs_ended, snap, settings))
                del space.history[:-HISTORY_RUNS]
            if stored:
                self.store.put_run(space.token, space.history[-1], HISTORY_RUNS)
                if checkpoint is not None:
                    self.store.finish_checkpoint(space.token)
                if keep is not None and snap.result is not None:
                    self.store.put_models(space.token, keep(snap.result))

        with self._lock:
            previous = space.jobs.get(key)
            job = self.jobs.start(kind, title, work, busy=previous, owner=space.token, after=after, on_end=remember,
                                  accepted=checkpoint.started if checkpoint is not None else None)
            if previous:
                self.jobs.forget(previous)
            space.jobs[key] = job.id
            space.job_datasets[key] = dataset
            return job

    def checkpointer(self, space: Workspace, dataset_id: str, config: PretrainConfig,
                     split: SplitConfig = SplitConfig()) -> "Checkpointer | None":
        """What a pretext job of `config` on `split` of `dataset_id` saves through (None without a store)."""
        return None if self.store is None else Checkpointer(self.store, space.token, dataset_id, config, split)

    def job(self, space: Workspace, key: str) -> Job | None:
        job = self.jobs.get(space.jobs.get(key))
        return job if job is not None and job.owner == space.token else None


@dataclass(frozen=True)
class Checkpointer:
    """A pretext training's record in the store: written when it starts (a restart puts it back in line), then
    its weights after each epoch (a restart resumes it, or gives its model back once it has ended)."""
    store: WorkspaceStore
    token: str
    dataset_id: str
    config: PretrainConfig
    split: SplitConfig

    def started(self) -> None:
        self.store.put_checkpoint(self.token, self.dataset_id, 0, self.config, None, self.split)

    def __call__(self, epoch: int, model) -> None:
        self.store.put_checkpoint(self.token, self.dataset_id, epoch, self.config, model.state_dict(), self.split)
