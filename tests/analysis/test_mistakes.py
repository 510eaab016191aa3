import pytest
import torch

from ssl_core.analysis.comparison import Comparison
from ssl_core.analysis.mistakes import mistakes
from ssl_core.engine.downstream import DownstreamResult
from ssl_core.engine.evaluate import Evaluation


def result(mode: str, predictions: list[int], labels: torch.Tensor) -> DownstreamResult:
    predicted = torch.tensor(predictions)
    correct = predicted == labels
    return DownstreamResult(mode, torch.nn.Identity(), Evaluation(float(correct.float().mean()), 1.0,
                                                                  torch.zeros(3, 3, dtype=torch.long), correct,
                                                                  predicted))


LABELS = torch.tensor([0, 1, 2, 0, 1, 2])
COMPARISON = Comparison({"linear": [result("linear", [0, 2, 2, 1, 1, 0], LABELS)],
                         "scratch": [result("scratch", [1, 2, 2, 0, 1, 1], LABELS)]}, 3, 6, 1 / 3)


@pytest.mark.parametrize("kind, positions", [("ssl", [1, 3, 5]), ("scratch", [0, 1, 5]), ("both", [1, 5]),
                                             ("ssl_only", [3]), ("scratch_only", [0])])
def test_each_kind_lists_the_right_test_images(kind, positions):
    found = mistakes(COMPARISON, "linear", LABELS, kind)
    assert [m.position for m in found.shown] == positions
    assert found.counts == {"ssl": 3, "scratch": 3, "both": 2, "ssl_only": 1, "scratch_only": 1}


def test_filters_by_true_class_and_by_the_answer_of_the_model_asked_about():
    found = mistakes(COMPARISON, "linear", LABELS, "ssl", truth=2)
    assert [(m.position, m.truth, m.ssl, m.scratch) for m in found.shown] == [(5, 2, 0, 1)]
    assert [m.position for m in mistakes(COMPARISON, "linear", LABELS, "scratch", predicted=2).shown] == [1]
    assert [m.position for m in mistakes(COMPARISON, "linear", LABELS, "ssl", predicted=2).shown] == [1]
    assert mistakes(COMPARISON, "linear", LABELS, "both", truth=0).shown == ()


def test_results_kept_without_answers_or_an_unknown_kind_are_refused():
    kept = result("linear", [0] * 6, LABELS)
    without = DownstreamResult("linear", kept.model, Evaluation(0.33, 1.0, kept.evaluation.confusion,
                                                                kept.evaluation.correct))  # no answers kept
    old = Comparison({"linear": [without], "scratch": [result("scratch", [0] * 6, LABELS)]}, 3, 6, 1 / 3)
    with pytest.raises(ValueError, match="without each image's answer"):
        mistakes(old, "linear", LABELS)
    with pytest.raises(ValueError, match="unknown kind"):
        mistakes(COMPARISON, "linear", LABELS, "all")
