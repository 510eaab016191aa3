"""Background jobs: a training run in a thread, observed through snapshots.

The web page never owns the training loop; it starts a `Job`, keeps its id
(in the session and the URL, so a reload can find it again) and polls
`snapshot()`. The job's thread never touches the UI. Stopping is a request the
loop honours at its next step, keeping whatever was trained so far.
"""
from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ssl_core.device import release_freed_memory
from ssl_core.train import Callbacks, EpochEvent, StepEvent, TrainingDiverged

MAX_POINTS = 400  # history kept per job: long runs are thinned, charts stay light

RUNNING, DONE, STOPPED, FAILED = "running", "done", "stopped", "failed"


@dataclass(frozen=True)
class Snapshot:
    id: str
    kind: str
    title: str
    status: str
    progress: float  # 0..1
    seconds: float
    eta: float | None
    images_per_s: float | None
    message: str
    steps: tuple[dict, ...]
    epochs: tuple[dict, ...]
    result: Any = None
    showcase: tuple = ()  # the latest pictures of what the model makes of held-out images (reconstruction tasks)

    @property
    def active(self) -> bool:
        return self.status == RUNNING


def _thin(points: list[dict]) -> None:
    if len(points) > MAX_POINTS:
        del points[1:-1:2]


class Job:
    """Runs `work(job)` in a daemon thread; `work` reports through `job.callbacks(run)`."""

    def __init__(self, kind: str, title: str, work: Callable[["Job"], Any]) -> None:
        self.id = uuid.uuid4().hex[:10]
        self.kind = kind
        self.title = title
        self._work = work
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._status = RUNNING
        self._message = "starting…"
        self._steps: list[dict] = []
        self._epochs: list[dict] = []
        self._progress = 0.0
        self._images_per_s: float | None = None
        self._result: Any = None
        self._showcase: tuple = ()
        self._started = time.monotonic()
        self._ended: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"job-{kind}-{self.id}", daemon=True)

    def start(self) -> "Job":
        self._thread.start()
        return self

    def _run(self) -> None:
        # OpenMP keeps its thread count per OS thread: a new thread would use every core,
        # ignoring the process-wide setting that leaves one to the web server.
        torch.set_num_threads(torch.get_num_threads())
        try:
            result = self._work(self)
            with self._lock:
                self._result = result
                self._status = STOPPED if self._stop.is_set() else DONE
                self._progress = self._progress if self._stop.is_set() else 1.0
                self._message = "stopped: the model trained so far is kept" if self._stop.is_set() else "finished"
        except TrainingDiverged as exc:
            self._fail(str(exc))
        except (ValueError, KeyError, RuntimeError) as exc:
            self._fail(str(exc))
        except Exception as exc:  # a job must never die silently
            self._fail(f"unexpected error: {exc!r}")
            traceback.print_exc()
        finally:
            with self._lock:
                self._ended = time.monotonic()
                self._work = None  # the closure holds the job's copy of its data: release it now, not in hours
            release_freed_memory()

    def _fail(self, message: str) -> None:
        with self._lock:
            self._status = FAILED
            self._message = message

    # -- control --------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- reporting (called from the job's thread) --------------------------------------------
    def set_message(self, message: str) -> None:
        with self._lock:
            self._message = message

    def set_progress(self, fraction: float) -> None:
        with self._lock:
            self._progress = min(max(fraction, 0.0), 1.0)

    def record(self, point: dict, progress: float | None = None, message: str | None = None) -> None:
        """Add a free-form result point (shown with the epoch points)."""
        self._record("epochs", point, progress, None, message)

    def set_showcase(self, samples: list) -> None:
        with self._lock:
            self._showcase = tuple(samples)

    def callbacks(self, run: str, share: tuple[float, float] = (0.0, 1.0)) -> "JobCallbacks":
        """Callbacks for one training run inside this job, filling `share` of its progress bar."""
        return JobCallbacks(self, run, share)

    def _record(self, bucket: str, point: dict, progress: float | None, images_per_s: float | None,
                message: str | None) -> None:
        with self._lock:
            points = self._steps if bucket == "steps" else self._epochs
            points.append(point)
            _thin(points)
            if progress is not None:
                self._progress = progress
            if images_per_s is not None:
                self._images_per_s = images_per_s
            if message:
                self._message = message

    def snapshot(self) -> Snapshot:
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            seconds = end - self._started
            eta = None
            if self._status == RUNNING and self._progress > 0.02:
                eta = seconds * (1 - self._progress) / self._progress
            return Snapshot(self.id, self.kind, self.title, self._status, self._progress, seconds, eta,
                            self._images_per_s, self._message, tuple(self._steps), tuple(self._epochs),
                            self._result, self._showcase)


class JobCallbacks(Callbacks):
    def __init__(self, job: Job, run: str, share: tuple[float, float]) -> None:
        self.job, self.run = job, run
        self.start, self.span = share[0], share[1] - share[0]
        self.total = 1

    def on_start(self, total_steps: int) -> None:
        self.total = max(1, total_steps)
        self.job.set_message(f"{self.run}: training…")

    def on_step(self, event: StepEvent) -> None:
        self.job._record("steps", {"run": self.run, "step": event.step, "epoch": event.epoch, "loss": event.loss,
                                   "seconds": event.elapsed},
                         self.start + self.span * event.step / self.total, event.images_per_s,
                         f"{self.run}: epoch {event.epoch}, step {event.step}/{event.total_steps}")

    def on_epoch(self, event: EpochEvent) -> None:
        self.job._record("epochs", {"run": self.run, "epoch": event.epoch, "step": event.step, **event.metrics},
                         None, None, None)

    def on_showcase(self, samples: list) -> None:
        self.job.set_showcase(samples)

    def should_stop(self) -> bool:
        return self.job.stop_requested


class JobBusy(RuntimeError):
    """A start refused because a job of the same kind is still running."""


@dataclass
class JobRegistry:
    """All jobs of the process, shared by every browser session (thread-safe)."""

    max_running: int = 2
    keep_seconds: float = 6 * 3600
    _jobs: dict[str, Job] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, kind: str, title: str, work: Callable[[Job], Any], busy: str | None = None) -> Job:
        """Start a job; refuse if the job `busy` (the caller's previous one) is still running."""
        with self._lock:
            self._reap()
            previous = self._jobs.get(busy) if busy else None
            if previous is not None and previous.alive:
                raise JobBusy(f"'{previous.title}' is already running; stop it first")
            if sum(job.alive for job in self._jobs.values()) >= self.max_running:
                raise JobBusy("the server is busy with other training jobs; try again in a moment")
            job = Job(kind, title, work)
            self._jobs[job.id] = job
        return job.start()

    def get(self, job_id: str | None) -> Job | None:
        if not job_id:
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def _reap(self) -> None:
        now = time.monotonic()
        for job_id, job in list(self._jobs.items()):
            if not job.alive and job._ended is not None and now - job._ended > self.keep_seconds:
                del self._jobs[job_id]
