import torch

from ssl_core.engine.calibration import fit_temperature
from ssl_core.engine.downstream import DownstreamResult
from ssl_core.engine.evaluate import evaluate
from ssl_core.engine.inference import photo_models, predict


def test_a_guessing_overconfident_model_gets_a_high_temperature_and_flat_answers():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (400,), generator=generator)
    logits = torch.randn(400, 2, generator=generator) * 20  # sure of itself, right half the time
    temperature = fit_temperature(logits, labels)
    assert temperature >= 10
    assert (logits / temperature).softmax(-1).max(-1).values.mean() < 0.7  # near 50%, not near 100%


def test_a_model_that_knows_keeps_its_confidence():
    labels = torch.arange(300) % 3
    logits = torch.nn.functional.one_hot(labels, 3).float() * 4 + torch.randn(300, 3, generator=torch.Generator().manual_seed(1)) * 0.1
    assert fit_temperature(logits, labels) <= 1.5
    assert fit_temperature(logits[:0], labels[:0]) == 1.0


def test_evaluation_fits_the_temperature_and_predict_uses_it():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        model[1].weight.mul_(50)
    images = torch.randn(64, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 2, (64,), generator=torch.Generator().manual_seed(1))
    result = evaluate(model, [(images, labels)], 2)
    assert result.temperature > 1
    photo = torch.randint(0, 256, (1, 1, 2, 2), dtype=torch.uint8)
    raw, calibrated = predict(model, photo)[0], predict(model, photo, result.temperature)[0]
    assert raw.argmax() == calibrated.argmax() and calibrated.max() <= raw.max()


def test_the_photo_panel_puts_the_headline_first_scratch_last_and_flags_a_guessing_model():
    net = torch.nn.Linear(1, 2)
    shown = photo_models({"scratch": net, "linear": net, "finetune": net}, {"finetune": 3.0},
                         {"scratch": 0.493, "linear": 0.57, "finetune": 0.70}, chance=0.55, n_test=361,
                         headline="finetune")
    assert [m.mode for m in shown] == ["finetune", "linear", "scratch"]
    assert shown[0].headline and shown[0].temperature == 3.0 and not shown[0].caveat
    assert "its answer here is a guess" in shown[2].caveat and "at or below chance level" in shown[2].caveat
    assert "not clearly above chance" in shown[1].caveat
    assert all(m.caveat == "" for m in photo_models({"scratch": net}, {}, {"scratch": 0.9}, 0.55, 361))
    assert DownstreamResult.__dataclass_fields__["train_accuracy"].default is None
