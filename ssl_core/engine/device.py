"""Choosing the compute device and sharing the CPU with the web server."""
from __future__ import annotations

import ctypes
import ctypes.util
import os

import torch

M_ARENA_MAX = -8  # glibc's mallopt parameter
SERVER_ARENAS = 2


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no CUDA GPU is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("MPS was requested but Apple's Metal backend is not available")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")
    return torch.device(name)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple MPS"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'' if threads == 1 else 's'})"


def leave_core_for_server() -> int:
    """Use all cores but one for torch on small machines, so pages stay responsive (and keep the
    server's memory from growing with each job's thread)."""
    limit_malloc_arenas()
    cores = os.cpu_count() or 1
    threads = max(1, cores - 1) if cores <= 4 else cores - 2
    torch.set_num_threads(threads)
    return threads


def limit_malloc_arenas(arenas: int = SERVER_ARENAS) -> bool:
    """Cap glibc's malloc arenas for the threads started from now on (what `MALLOC_ARENA_MAX`
    does at launch). The app runs each page and each training job in its own thread; glibc gives
    busy threads their own arena and keeps the freed memory in it, so the server's peak grew with
    every job: the browser journey peaked at 1.61 GB with the default and 1.15 GB with 2 arenas.
    No effect (False) off glibc."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return True
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return bool(libc and hasattr(libc, "mallopt") and libc.mallopt(M_ARENA_MAX, arenas) == 1)
    except OSError:
        return False


def release_freed_memory() -> None:
    """Hand memory that malloc holds but no longer uses back to the system (glibc `malloc_trim`), so
    a finished job's working set does not stay in the server's footprint. No effect off glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
    except OSError:
        pass
