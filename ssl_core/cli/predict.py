"""`python -m ssl_core predict --load FILE PHOTO...`: what each saved model makes of each photo."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ssl_core.data.images import ImageError
from ssl_core.engine.inference import predict, prepare_photo
from ssl_core.engine.model_file import ModelFileError, from_bytes

HELP = "classify photos with the models of a model file (the app's Download the models)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--load", required=True, type=Path, help="a file from the app's Download the models")
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=3, help="classes shown per model (default 3)")


def run(args: argparse.Namespace) -> int:
    try:
        models = from_bytes(args.load.read_bytes())
    except (ModelFileError, OSError) as exc:
        print(f"error: {args.load}: {exc}", file=sys.stderr)
        return 2
    if not models.classifiers:
        print(f"error: {args.load} holds a pretext model only: run the comparison in the app first", file=sys.stderr)
        return 2
    print(f"{args.load}: trained on {models.dataset}, {len(models.class_names)} classes, {models.image_size} px")
    failed = 0
    for path in args.photos:
        try:
            photo = prepare_photo(path.read_bytes(), models.image_size, models.in_channels,
                                  digit_like=not models.allow_flip and models.in_channels == 1)
        except (ImageError, OSError) as exc:
            print(f"{path}: skipped ({exc})")
            failed += 1
            continue
        for shown_model in models.photo_models():
            probs = predict(shown_model.model, photo.tensor, shown_model.temperature)[0]
            top = probs.topk(min(args.top, len(probs)))
            shown = ", ".join(f"{models.class_names[i]} {p:.0%}" for p, i in zip(top.values.tolist(), top.indices.tolist()))
            print(f"{path}: {shown_model.title}: {shown}" + (f" ({shown_model.caveat})" if shown_model.caveat else ""))
    return 1 if failed == len(args.photos) else 0
