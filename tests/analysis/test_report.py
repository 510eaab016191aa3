import json

import torch

from ssl_core.analysis.report import BudgetResult, ExperimentReport, Point, Summary, pack_outcomes
from ssl_core.analysis.stats import Difference
from ssl_core.analysis.verdict import HELPED, HURT, TOO_CLOSE, Verdict, budget_verdict


def test_old_reports_without_per_image_outcomes_get_a_conservative_interval():
    points = [Point(0, "labels_per_class", 1, 10, mode, accuracy) for mode, accuracy in (("linear", 0.60),
                                                                                         ("scratch", 0.35))]
    (result,) = ExperimentReport.judged(points, [0.9], 8000, 2000, 1.0).results
    d = result.difference["linear"]
    assert 0.2 < d.low < 0.25 < d.high < 0.3 and result.verdict.outcome == HELPED


def test_a_report_survives_json_and_is_judged_again_on_reading():
    bits = lambda share: torch.arange(500) % 10 < share * 10  # noqa: E731
    points = [Point(seed, "label_fraction", 0.1, 40, mode, float(bits(share).float().mean()), pack_outcomes(bits(share)))
              for seed in (0, 1) for mode, share in (("linear", 0.5), ("finetune", 0.7), ("scratch", 0.4))]
    report = ExperimentReport.judged(points, [0.8, 0.82], 3000, 500, 12.5, 0.1, "accuracy",
                                     {"name": "rotation", "settings": {"angles": [0, 90, 180, 270]}})
    saved = json.loads(json.dumps(report.to_json()))
    assert saved["results"][0]["label_fraction"] == 0.1
    assert abs(saved["results"][0]["ssl_finetune"]["mean"] - 0.7) < 1e-6
    assert abs(saved["results"][0]["difference"]["ssl_finetune"]["mean"] - 0.3) < 1e-9
    again = ExperimentReport.from_json(saved)
    assert again == report and again.results[0].verdict.text == report.results[0].verdict.text
    assert abs(again.pretext_score - 0.81) < 1e-9 and again.results[0].name == "10% of labels"


def test_budget_verdict_groups_the_budgets_by_outcome():
    def result(budget, ssl, scratch, low, high, outcome):
        d = Difference(ssl - scratch, low, high, 2000, 1, "test")
        return BudgetResult("labels_per_class", budget, budget * 10, {"linear": Summary(ssl, 0), "scratch":
                            Summary(scratch, 0)}, {"linear": d}, Verdict(outcome, "…", d))

    results = [result(1, 0.7, 0.5, 0.15, 0.25, HELPED), result(10, 0.80, 0.81, -0.03, 0.01, TOO_CLOSE),
               result(100, 0.80, 0.95, -0.2, -0.1, HURT)]
    text = budget_verdict(results)
    assert "✅ Self-supervision helped at 1/class (SSL linear probe +20.0 points, 95% interval +15.0 to +25.0)" in text
    assert "➖ Too close to call at 10/class" in text and "❌ It hurt at 100/class" in text
    results.append(BudgetResult("labels_per_class", 500, 5000, {"linear": Summary(0.9, 0)}, {}, None))
    assert budget_verdict(results) == text  # a run stopped before scratch was measured is left out
