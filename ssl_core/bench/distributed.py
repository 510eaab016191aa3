"""`python -m ssl_core bench distributed [--data FOLDER] [--epochs N]`

Launches `torchrun -m ssl_core pretrain` with 1 and 2 processes, streaming the folder (decoded by DataLoader
workers) and from the memory-mapped cache, and prints images/s for each.
"""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

from ssl_core.bench.common import SHARED

HELP = "torchrun pretraining: 1 and 2 processes, streamed and cached"


def distributed(folder: Path, epochs: int) -> dict:
    """Pretext images/s of the distributed trainer: 1 and 2 processes, streamed and cached."""
    import os
    import subprocess
    import tempfile

    from ssl_core.engine.metrics import ACCURACY, PSNR

    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for processes, source in itertools.product((1, 2), ("streamed", "cached")):
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                       "-m", "ssl_core", "pretrain", "--data", str(folder), "--epochs", str(epochs), "--image-size",
                       "32", "--batch-size", "64", "--workers", "1", "--json"]
            if source == "cached":
                command += ["--cache", cache]
            env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // processes))}
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode:
                raise RuntimeError(done.stderr[-2000:])
            run = json.loads(done.stdout.strip().splitlines()[-1])
            held_out = run.get("held_out")
            rows.append({"processes": processes, "source": source, "images_per_s": run["images_per_s"],
                         "epoch_losses": run["epoch_losses"], "held_out": held_out})
            metric = PSNR if held_out and held_out["metric"] == PSNR.key else ACCURACY
            scored = f", held-out {metric.label} {metric.format(held_out['value'])}" if held_out else ""
            print(f"{processes} process(es), {source}: {run['images_per_s']:,.0f} images/s "
                  f"(loss {run['epoch_losses'][0]:.3f} -> {run['epoch_losses'][-1]:.3f}{scored})", flush=True)
    return {"rows": rows, "cpu_count": os.cpu_count()}


def add_arguments(parser) -> None:
    parser.add_argument("--data", type=Path, default=SHARED / "flowers", help="a folder of class folders")
    parser.add_argument("--epochs", type=int, default=2)


def main(args, write) -> int:
    write(distributed(args.data, args.epochs))
    return 0
