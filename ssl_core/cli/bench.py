"""`python -m ssl_core bench <name>`: the benchmarks, one file each in `ssl_core.bench`, each writing its figures
as JSON (`--out`, default `bench-results/<name>.json`) and printing them."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ssl_core.bench import distributed, inside, journey, label_efficiency, precision, speed, talk
from ssl_core.bench.common import log

HELP = "benchmarks that print figures: label-efficiency, speed, talk, journey, inside, distributed, precision, merge"
BENCHES = {  # name: (module, its arguments, its run)
    "label-efficiency": (label_efficiency, label_efficiency.add_arguments, label_efficiency.main),
    "merge": (label_efficiency, label_efficiency.add_merge_arguments, label_efficiency.merge),
    "speed": (speed, speed.add_arguments, speed.main),
    "talk": (talk, talk.add_arguments, talk.main),
    "journey": (journey, journey.add_arguments, journey.main),
    "inside": (inside, inside.add_arguments, inside.main),
    "distributed": (distributed, distributed.add_arguments, distributed.main),
    "precision": (precision, precision.add_arguments, precision.main),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_subparsers(dest="bench", required=True, metavar="NAME", parser_class=type(parser))
    for name, (module, add, _) in BENCHES.items():
        sub = which.add_parser(name, help=module.HELP if name != "merge" else "pool label-efficiency reports of the "
                               "same protocols run apart", description=module.__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        add(sub)
        sub.add_argument("--quick", action="store_true", help="fewer epochs, one seed, smaller images")
        sub.add_argument("--out", type=Path, help=f"JSON file to write (default bench-results/{name}.json)")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.bench == "label-efficiency" and args.quick:
        args.scale = "quick"
    out = args.out or Path("bench-results") / f"{args.bench}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(report: dict) -> None:
        out.write_text(json.dumps({"quick": args.quick, **report, "seconds": time.perf_counter() - started},
                                  indent=2))

    code = BENCHES[args.bench][2](args, write)
    if code == 0:
        log(f"total {time.perf_counter() - started:.0f} s; JSON written to {out}")
    return code
