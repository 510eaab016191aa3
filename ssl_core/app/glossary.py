"""The words the app uses, each in one line: the pages' help tooltips and the glossary read them from here, so
a term means the same thing wherever it appears."""
from __future__ import annotations

TERMS: dict[str, str] = {
    "self-supervised learning": "Training on a task whose answers come from the images themselves (no labels), "
                                "so that the network learns what images look like before it sees any label.",
    "pretext task": "The made-up task used for that training: which way an image was turned, where a patch was "
                    "cut from, what colours a grey image had.",
    "pseudo-label": "The answer a pretext task makes up for each image (the angle it was turned by): free, "
                    "since the app made the change itself.",
    "downstream task": "The task you actually care about (which digit, which flower), learned from a few labeled "
                       "images.",
    "backbone": "The network's layers that turn an image into features; pretraining trains them, and the "
                "downstream task reuses them.",
    "block": "One stage of the backbone (convolutions, then a halving of the picture). Early blocks see edges and "
             "strokes, later ones larger parts; 'block 3' is the third.",
    "features": "What a block outputs for an image: the numbers later layers (or a linear probe) read.",
    "linear probe": "A single linear layer trained on the labels on top of a frozen backbone: it scores how much "
                    "the pretrained features already tell the classes apart.",
    "fine-tuning": "Training the pretrained network further on the labels: here the new head first, then the "
                   "whole network with the backbone at 0.3× the head's learning rate, so the pretraining is not "
                   "overwritten (LP-FT).",
    "LP-FT": "Linear probe, then fine-tune: the head is trained alone first, so the first large updates do not "
             "wreck the pretrained backbone.",
    "from scratch": "The same network trained only on the labels, starting from random weights: the baseline "
                    "self-supervision has to beat.",
    "k-NN": "k nearest neighbours: an image gets the class most of its k most similar images have. Nothing is "
            "trained, so it measures the features alone.",
    "PSNR": "Peak signal-to-noise ratio, in decibels: how close a painted image is to the truth. Higher is better; "
            "+3 dB halves the squared error.",
    "chance level": "What always giving the commonest answer scores: a model at chance has learned nothing useful.",
    "95% interval": "The range the true difference lies in, 19 times out of 20, given the test images (and seeds) "
                    "used: a claim is made only when it excludes zero.",
    "epoch": "One pass over the training images.",
    "learning rate": "How big a step each update takes: too large and the loss explodes, too small and nothing moves.",
}


def term(name: str) -> str:
    """The one-line explanation of `name` (a KeyError for a word the glossary lacks: tests catch it)."""
    return TERMS[name]
