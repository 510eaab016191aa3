"""What the benchmarks share: where the real data lies, logging to stderr, peak memory."""
from __future__ import annotations

import resource
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"  # ../shared/data beside the project
ROUNDS = 3


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
