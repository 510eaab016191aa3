import torch

from ssl_core.analysis.report import ExperimentReport, Point, pack_outcomes
from ssl_core.analysis.task_ranking import rank_tasks

N = 400


def report(outcomes: dict[str, torch.Tensor]) -> ExperimentReport:
    points = [Point(0, "labels_per_class", 1, 10, mode, float(bits.float().mean()), pack_outcomes(bits))
              for mode, bits in outcomes.items()]
    return ExperimentReport.judged(points, [0.9], 3000, N, 1.0)


def bits(share: float, offset: int = 0) -> torch.Tensor:
    return (torch.arange(N) + offset) % 100 < share * 100


def test_a_clear_leader_is_named_with_its_lead_and_interval():
    protocols = {"MNIST digits, rotation": report({"linear": bits(0.5), "finetune": bits(0.8), "scratch": bits(0.3)}),
                 "MNIST digits, jigsaw": report({"linear": bits(0.4), "finetune": bits(0.45), "scratch": bits(0.3)})}
    (ranking,) = rank_tasks(protocols)
    assert [t.task for t in ranking.tasks] == ["rotation", "jigsaw"]
    assert ranking.tasks[0].mode == "finetune" and ranking.tasks[0].versus_scratch.excludes_zero
    assert abs(ranking.lead.mean - 0.35) < 1e-9 and ranking.lead.excludes_zero
    assert ranking.sentence().startswith("MNIST digits, 1/class: **rotation** (SSL fine-tuned, 80.0%; scratch 30.0%) "
                                         "transfers best, ahead of jigsaw by +35.0 points")


def test_a_lead_inside_the_noise_is_too_close_to_call():
    protocols = {"Flowers, rotation": report({"linear": bits(0.50), "scratch": bits(0.4)}),
                 "Flowers, simclr": report({"linear": bits(0.49, offset=7), "scratch": bits(0.4)})}
    (ranking,) = rank_tasks(protocols)
    assert not ranking.lead.excludes_zero
    assert "rotation** (SSL linear probe, 50.0%; scratch 40.0%) and simclr are too close to call" in ranking.sentence()


def test_datasets_are_ranked_apart():
    protocols = {"MNIST digits, rotation": report({"linear": bits(0.5), "scratch": bits(0.3)}),
                 "Flowers, rotation": report({"linear": bits(0.5), "scratch": bits(0.3)})}
    rankings = rank_tasks(protocols)
    assert [r.dataset for r in rankings] == ["MNIST digits", "Flowers"]
    assert all(r.lead is None and r.sentence().endswith("is the only task measured.") for r in rankings)
