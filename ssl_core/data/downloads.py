"""File downloads with a timeout, a progress hook and a checksum.

torchvision's own downloader has no timeout (it can hang on a silent network)
and a hard-wired tqdm bar; this one reports to any callback and fails fast.
"""
from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ProgressFn = Callable[[str, int, int], None]  # (file name, bytes done, bytes total or 0)


class DownloadError(RuntimeError):
    """A download that failed; the message tells the user what to do instead."""


def download_file(url: str, target: Path, md5: str | None = None, progress: ProgressFn | None = None,
                  timeout: float = 10.0, hint: str = "", chunk: int = 1 << 16) -> Path:
    target = Path(target)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while block := response.read(chunk):
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(target.name, done, total)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"could not download {target.name} ({reason}). No network? "
                            f"{hint}".strip()) from None
    if md5 and digest.hexdigest() != md5:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"{target.name} arrived corrupted (checksum mismatch). {hint}".strip())
    partial.replace(target)
    return target
