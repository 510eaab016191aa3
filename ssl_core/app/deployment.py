"""What the server allows its visitors: one trusted person on their own machine (the default), or
the public, who upload whatever they have (public mode, for shared servers and conference laptops).

Public mode is switched on by `SSL_PLAYGROUND_PUBLIC=1`. It hides the Local folder input (unless
`SSL_PLAYGROUND_FOLDER_ROOT` names the one folder visitors may read below), bounds uploads, and
applies tighter per-visitor limits on memory, jobs and idle time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ssl_core.data.user_images import ArchiveLimits

PUBLIC_ENV = "SSL_PLAYGROUND_PUBLIC"
FOLDER_ROOT_ENV = "SSL_PLAYGROUND_FOLDER_ROOT"
MB = 2**20


@dataclass(frozen=True)
class Limits:
    upload_mb: int = 200  # one uploaded file (Streamlit's own default)
    archive_members: int = 20_000  # files in one zip or folder
    archive_mb: int = 1024  # what one zip or folder may unpack to
    datasets_per_session: int = 6  # user datasets a visitor keeps; the least recently used goes first
    session_mb: int = 4096  # their images in memory, per visitor
    total_mb: int = 8192  # all visitors' images together: past it, new datasets are refused
    running_jobs: int = 1  # trainings at once; the rest wait in line
    waiting_jobs: int = 32  # the line's length: past it, a start is refused
    session_grace_s: float = 1800  # a visitor unseen this long is gone: their jobs stop, their data goes
    keep_finished_s: float = 6 * 3600
    pause_s: float | None = None  # a paused training holds its slot; past this it carries on (None: no limit)


LOCAL = Limits()
PUBLIC = Limits(upload_mb=50, archive_members=5_000, archive_mb=256, datasets_per_session=2, session_mb=256,
                total_mb=1024, waiting_jobs=8, session_grace_s=180, keep_finished_s=3600,
                pause_s=300)


@dataclass(frozen=True)
class Deployment:
    public: bool = False
    folder_root: Path | None = None  # public mode: the only folder visitors may load from (None: no folders)
    limits: Limits = field(default=LOCAL)

    @property
    def folders_allowed(self) -> bool:
        return not self.public or self.folder_root is not None

    @property
    def archive_limits(self) -> ArchiveLimits:
        return ArchiveLimits(max_members=self.limits.archive_members, max_total_bytes=self.limits.archive_mb * MB)


def running_jobs_for(device_type: str, cores: int | None = None) -> int:
    """Trainings at once: one on a CPU of up to 8 cores (two would halve each other's speed), two on
    a GPU or a larger CPU."""
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return 2 if device_type != "cpu" or cores > 8 else 1


def from_env(device_type: str = "cpu", env: dict[str, str] | None = None) -> Deployment:
    env = os.environ if env is None else env
    public = env.get(PUBLIC_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    root = env.get(FOLDER_ROOT_ENV, "").strip()
    limits = PUBLIC if public else LOCAL
    limits = Limits(**{**limits.__dict__, "running_jobs": running_jobs_for(device_type)})
    return Deployment(public, Path(root).expanduser().resolve() if root and public else None, limits)


class FolderRefused(ValueError):
    """A folder a visitor may not read; the message is for them."""


def allowed_folder(deployment: Deployment, path: str) -> Path:
    """The folder to read for `path`: anything locally; in public mode only below the allowed root
    (relative paths are taken from it; symlinks are resolved before the check)."""
    if "\x00" in path or any(ord(c) < 32 for c in path) or len(path) > 4096:
        raise FolderRefused("that is not a folder path: it holds a control character (a NUL byte, a line break …) "
                            "or is longer than any path")
    if not deployment.public:
        return Path(path).expanduser()
    if deployment.folder_root is None:
        raise FolderRefused("this server does not read folders: upload a zip instead")
    target = (deployment.folder_root / path.strip().lstrip("/")).resolve()
    if target != deployment.folder_root and deployment.folder_root not in target.parents:
        raise FolderRefused(f"only folders inside {deployment.folder_root.name}/ can be read here")
    return target
