"""Background jobs: a training run in a thread, observed through snapshots.

The web page never owns the training loop; it starts a `Job` through its
visitor's workspace (`ssl_core.app.workspaces`) and polls `snapshot()`. The job's
thread never touches the UI. Stopping is a request the loop honours at its next
step, keeping whatever was trained so far. Jobs wait in line for one of the
registry's few slots, so a busy server queues trainings instead of running them
all at once at a fraction of the speed each.
"""
from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import torch

from ssl_core.engine.device import release_freed_memory
from ssl_core.engine.train import Callbacks, EpochEvent, EpochPoint, StepEvent, StepPoint, TrainingDiverged

MAX_POINTS = 400  # history kept per job: long runs are thinned, charts stay light

WAITING, RUNNING, DONE, STOPPED, FAILED = "waiting", "running", "done", "stopped", "failed"
R = TypeVar("R")  # what a job's work returns: a PretrainResult, a Comparison, an ExperimentReport…


@dataclass(frozen=True)
class Snapshot(Generic[R]):
    id: str
    kind: str
    title: str
    status: str
    progress: float  # 0..1
    seconds: float
    eta: float | None
    images_per_s: float | None
    message: str
    steps: tuple[StepPoint, ...]
    epochs: tuple[EpochPoint, ...]
    result: R | None = None
    found: tuple[Any, ...] = ()  # what the work reported as it went (the label-budget experiment's points)
    showcase: tuple = ()  # the latest pictures of what the model makes of held-out images (reconstruction tasks)
    queue_position: int | None = None  # 1 = next to start, while waiting for a slot
    paused: bool = False  # running, but held between two steps (the model and curves are kept)

    @property
    def active(self) -> bool:
        return self.status in (WAITING, RUNNING)


def _thin(points: list) -> None:
    if len(points) > MAX_POINTS:
        del points[1:-1:2]


class Slots:
    """At most `count` jobs run at once; the others wait in the order they asked (first come, first served)."""

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._running = 0
        self._line: list[Job] = []
        self._changed = threading.Condition()

    def acquire(self, job: "Job") -> bool:
        """Wait for a slot; False when the job was stopped (cancelled) while waiting."""
        with self._changed:
            self._line.append(job)
            try:
                while not job.stop_requested and (self._line[0] is not job or self._running >= self.count):
                    self._changed.wait(0.2)
                if job.stop_requested:
                    return False
                self._running += 1
                return True
            finally:
                self._line.remove(job)
                self._changed.notify_all()

    def release(self) -> None:
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def position(self, job: "Job") -> int | None:
        with self._changed:
            return self._line.index(job) + 1 if job in self._line else None

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._line)


class Job(Generic[R]):
    """Runs `work(job)` in a daemon thread once `after` has finished and a slot is free; `work` reports
    through `job.callbacks(run)`."""

    def __init__(self, kind: str, title: str, work: Callable[["Job[R]"], R], slots: Slots | None = None,
                 owner: str = "", after: "Job | None" = None, max_pause_s: float | None = None,
                 on_end: "Callable[[Job], None] | None" = None) -> None:
        self.id = uuid.uuid4().hex
        self.kind = kind
        self.title = title
        self.owner = owner
        self.forgotten = False  # its owner left or replaced it: the registry drops it once it has ended
        self.ran = False  # it got a slot and its work started (a job cancelled while waiting never does)
        self._work = work
        self._slots = slots or Slots(1)
        self._after = after
        self._on_end = on_end  # told once the job has ended, whatever the way, cancelled in line included
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._running_freely = threading.Event()  # cleared while paused
        self._running_freely.set()
        self._pause_at_epoch_end = False
        self._max_pause_s = max_pause_s  # a paused job holds its slot: on a shared server it resumes after this
        self._paused_since: float | None = None
        self._paused_total = 0.0
        self._status = WAITING
        self._message = "waiting for a free slot…"
        self._steps: list[StepPoint] = []
        self._epochs: list[EpochPoint] = []
        self._found: list[Any] = []
        self._progress = 0.0
        self._images_per_s: float | None = None
        self._result: R | None = None
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
        while self._after is not None and self._after.alive and not self.stop_requested:
            self._after.join(0.2)
        self._after = None
        if not self._slots.acquire(self):
            with self._lock:
                self._status, self._message = STOPPED, "cancelled before it started"
                self._ended, self._work = time.monotonic(), None
            self._tell_end()
            return
        with self._lock:
            self._status, self._message, self._started = RUNNING, "starting…", time.monotonic()
            self.ran = True
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
            self._slots.release()
            release_freed_memory()
            self._tell_end()

    def _tell_end(self) -> None:
        if self._on_end is not None:
            try:
                self._on_end(self)
            except Exception:  # a listener's bug must not look like the job's
                traceback.print_exc()

    def _fail(self, message: str) -> None:
        with self._lock:
            self._status = FAILED
            self._message = message

    # -- control --------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._unpause()  # a paused run stops too

    def pause(self) -> None:
        """Hold the run at its next step; the model and its curves stay as they are."""
        with self._lock:
            if self._status == RUNNING and self._running_freely.is_set():
                self._running_freely.clear()
                self._paused_since = time.monotonic()

    def resume(self) -> None:
        with self._lock:
            self._pause_at_epoch_end = False
            self._unpause()

    def step_epoch(self) -> None:
        """Run on to the end of the current epoch, then pause again."""
        with self._lock:
            self._pause_at_epoch_end = True
            self._unpause()

    def _unpause(self) -> None:
        if self._paused_since is not None:
            self._paused_total += time.monotonic() - self._paused_since
            self._paused_since = None
        self._running_freely.set()

    def hold_while_paused(self) -> None:
        """Called by the training thread between steps: wait here while paused (not past a stop,
        nor past `max_pause_s`)."""
        while not self._running_freely.wait(0.2):
            since = self._paused_since
            if self._max_pause_s is not None and since is not None and time.monotonic() - since > self._max_pause_s:
                self.resume()

    def epoch_ended(self, message: str) -> None:
        """At an epoch's end: pause here if Step asked for it (saying which epoch is done)."""
        with self._lock:
            if self._pause_at_epoch_end and self._status == RUNNING:
                self._pause_at_epoch_end = False
                self._running_freely.clear()
                self._paused_since = time.monotonic()
                self._message = message

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

    def record(self, found: Any, progress: float | None = None, message: str | None = None) -> None:
        """Report a result found on the way (a typed record the page reads from `Snapshot.found`)."""
        with self._lock:
            self._found.append(found)
        self._record(None, None, progress, None, message)

    def set_showcase(self, samples: list) -> None:
        with self._lock:
            self._showcase = tuple(samples)

    def callbacks(self, run: str, share: tuple[float, float] = (0.0, 1.0)) -> "JobCallbacks":
        """Callbacks for one training run inside this job, filling `share` of its progress bar."""
        return JobCallbacks(self, run, share)

    def _record(self, points: list | None, point: StepPoint | EpochPoint | None, progress: float | None,
                images_per_s: float | None, message: str | None) -> None:
        with self._lock:
            if points is not None:
                points.append(point)
                _thin(points)
            if progress is not None:
                self._progress = progress
            if images_per_s is not None:
                self._images_per_s = images_per_s
            if message:
                self._message = message

    def snapshot(self) -> Snapshot:
        position = self._slots.position(self) if self._status == WAITING else None
        with self._lock:
            end = self._ended if self._ended is not None else self._paused_since or time.monotonic()
            seconds = end - self._started - self._paused_total
            eta = None
            if self._status == RUNNING and self._progress > 0.02:
                eta = seconds * (1 - self._progress) / self._progress
            message = self._message
            if self._status == WAITING:
                message = (f"waiting in line: {_ordinal(position)} to start" if position else
                           "waiting for the previous step to finish")
            paused = self._status == RUNNING and not self._running_freely.is_set()
            if paused:
                message = "⏸ paused: " + message
            return Snapshot(self.id, self.kind, self.title, self._status, self._progress, seconds, eta,
                            self._images_per_s, message, tuple(self._steps), tuple(self._epochs),
                            self._result, tuple(self._found), self._showcase, position, paused)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


class JobCallbacks(Callbacks):
    def __init__(self, job: Job, run: str, share: tuple[float, float]) -> None:
        self.job, self.run = job, run
        self.start, self.span = share[0], share[1] - share[0]
        self.total = 1

    def on_start(self, total_steps: int) -> None:
        self.total = max(1, total_steps)
        self.job.set_message(f"{self.run}: training…")

    def on_step(self, event: StepEvent) -> None:
        self.job._record(self.job._steps, StepPoint(self.run, event.step, event.epoch, event.loss, event.elapsed),
                         self.start + self.span * event.step / self.total, event.images_per_s,
                         f"{self.run}: epoch {event.epoch}, step {event.step}/{event.total_steps}")

    def on_epoch(self, event: EpochEvent) -> None:
        self.job._record(self.job._epochs, EpochPoint(self.run, event.epoch, event.epochs, event.step,
                                                      dict(event.metrics)), None, None, None)
        self.job.epoch_ended(f"{self.run}: epoch {event.epoch} of {event.epochs} done")

    def on_showcase(self, samples: list) -> None:
        self.job.set_showcase(samples)

    def should_stop(self) -> bool:
        self.job.hold_while_paused()
        return self.job.stop_requested


class JobBusy(RuntimeError):
    """A start refused (the caller's previous job still runs, or the line is full); the message is for the user."""


@dataclass
class JobRegistry:
    """All jobs of the process, shared by every browser session (thread-safe). Who may see a job is the
    workspaces' business (`ssl_core.app.workspaces`); this only runs them."""

    max_running: int = 1
    max_waiting: int = 32
    keep_seconds: float = 6 * 3600
    max_pause_s: float | None = None
    _jobs: dict[str, Job] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _slots: Slots | None = None

    def __post_init__(self) -> None:
        self._slots = Slots(self.max_running)

    def start(self, kind: str, title: str, work: Callable[[Job], Any], busy: str | None = None, owner: str = "",
              after: Job | None = None, on_end: Callable[[Job], None] | None = None,
              accepted: Callable[[], None] | None = None) -> Job:
        """Start a job (it waits for `after` and a free slot); refuse if the job `busy` (the caller's
        previous one) is still active, or if the line is full. `accepted()` runs once it is not refused,
        before its thread starts."""
        with self._lock:
            self._reap()
            previous = self._jobs.get(busy) if busy else None
            if previous is not None and previous.alive:
                raise JobBusy(f"'{previous.title}' is already running; stop it first")
            if self._slots.waiting >= self.max_waiting:
                raise JobBusy(f"the server's line of trainings is full ({self.max_waiting} waiting); "
                              "try again in a few minutes")
            job = Job(kind, title, work, self._slots, owner, after, self.max_pause_s, on_end)
            self._jobs[job.id] = job
        if accepted is not None:
            accepted()
        return job.start()

    def get(self, job_id: str | None) -> Job | None:
        if not job_id:
            return None
        with self._lock:
            self._reap()
            job = self._jobs.get(job_id)
            return None if job is None or job.forgotten else job

    def forget(self, job_id: str) -> None:
        """Stop a job and drop it once it has ended (its owner left, or replaced it)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job.forgotten = True
                job.stop()
            self._reap()

    @property
    def running(self) -> int:
        with self._lock:
            return sum(job.snapshot().status == RUNNING for job in self._jobs.values())

    def __len__(self) -> int:
        with self._lock:
            self._reap()
            return len(self._jobs)

    def _reap(self) -> None:
        now = time.monotonic()
        for job_id, job in list(self._jobs.items()):
            if not job.alive and job._ended is not None and (job.forgotten or now - job._ended > self.keep_seconds):
                del self._jobs[job_id]
