"""Scoring a classifier on held-out batches: accuracy, confusion, each image's outcome, in eval mode."""
import math

import torch
from torch import nn

from ssl_core.engine.evaluate import evaluate


class Oracle(nn.Module):
    """Answers the class written in the first pixel; a batch-norm layer shows which mode it ran in."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes
        self.norm = nn.BatchNorm1d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen_training = self.training
        return nn.functional.one_hot(x[:, 0].long(), self.classes).float() * 10


def test_a_perfect_model_scores_one_with_a_diagonal_confusion_and_goes_back_to_training():
    model = Oracle(3).train()
    labels = torch.tensor([0, 1, 2, 2, 1])
    result = evaluate(model, [(labels[:3, None].float(), labels[:3]), (labels[3:, None].float(), labels[3:])], 3)
    assert result.accuracy == 1.0 and result.n == 5 and result.correct.all()
    assert torch.equal(result.confusion, torch.diag(torch.tensor([1, 2, 2])))
    assert not model.seen_training and model.training


def test_wrong_answers_land_off_the_diagonal_and_nothing_to_score_is_nan():
    model = Oracle(2)
    result = evaluate(model, [(torch.tensor([[1.0], [1.0]]), torch.tensor([0, 1]))], 2)
    assert result.accuracy == 0.5 and result.correct.tolist() == [False, True]
    assert result.confusion.tolist() == [[0, 1], [0, 1]] and result.predictions.tolist() == [1, 1]
    empty = evaluate(model, [], 2)
    assert math.isnan(empty.accuracy) and empty.n == 0
