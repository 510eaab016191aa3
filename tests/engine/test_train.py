import math

import pytest
import torch

from ssl_core.data.datasets import load_digits
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.engine.train import Callbacks, LoopConfig, TrainingDiverged, batch_order, fit
from ssl_core.pretext.jigsaw import JigsawSettings


class Recorder(Callbacks):
    def __init__(self, stop_after: int | None = None) -> None:
        self.steps, self.epochs, self.total = [], [], None
        self.stop_after = stop_after

    def on_start(self, total_steps):
        self.total = total_steps

    def on_step(self, event):
        self.steps.append(event)

    def on_epoch(self, event):
        self.epochs.append(event)

    def should_stop(self):
        return self.stop_after is not None and len(self.steps) >= self.stop_after


def test_short_rotation_run_on_real_digits_learns():
    digits = load_digits()
    recorder = Recorder()
    result = pretrain(PretrainConfig(epochs=3, image_size=16), digits.images[:600], digits.images[600:900],
                      recorder, allow_flip=False)
    losses = [e.metrics["train_loss"] for e in recorder.epochs]
    assert losses[-1] < losses[0] * 0.8
    assert result.evaluation.value > 0.5 and result.evaluation.baseline == 0.25
    assert result.evaluation.confusion.shape == (4, 4) and result.evaluation.n == 300 * 4
    assert recorder.steps[-1].step == recorder.total


def test_runs_are_reproducible_from_config_and_seed():
    digits = load_digits()
    config = PretrainConfig(epochs=1, image_size=8, seed=7)
    a = pretrain(config, digits.images[:200], digits.images[200:260], allow_flip=False)
    b = pretrain(config, digits.images[:200], digits.images[200:260], allow_flip=False)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)


def test_a_dataset_smaller_than_a_batch_still_trains():
    digits = load_digits()
    result = pretrain(PretrainConfig(epochs=2, batch_size=64, image_size=8), digits.images[:5], digits.images[5:8],
                      allow_flip=False)
    assert not math.isnan(result.evaluation.loss)


def test_jigsaw_pretraining_runs():
    digits = load_digits()
    config = PretrainConfig(task="jigsaw", settings=JigsawSettings(grid=2, permutations=24), epochs=1, image_size=16)
    result = pretrain(config, digits.images[:100], digits.images[100:140], allow_flip=False)
    assert result.evaluation.confusion.shape == (24, 24)


def test_stop_request_ends_the_loop_and_says_so():
    digits = load_digits()
    recorder = Recorder(stop_after=2)
    result = pretrain(PretrainConfig(epochs=50, image_size=8), digits.images[:400], digits.images[400:420],
                      recorder, allow_flip=False)
    assert result.stopped and len(recorder.steps) == 2 and result.evaluation is not None


def test_diverging_loss_raises_with_a_learning_rate_hint():
    model = torch.nn.Linear(4, 2)
    x = torch.randn(32, 4)
    y = torch.randint(0, 2, (32,))

    def batch(indices):
        return x[indices] * float("inf"), y[indices]

    with pytest.raises(TrainingDiverged, match="lower learning rate"):
        fit(model, [{"params": model.parameters()}], batch, 32, LoopConfig(epochs=1, batch_size=8, log_every=1),
            torch.device("cpu"), Callbacks())


def test_batch_order_never_leaves_a_batch_of_one():
    batches = batch_order(65, 32, torch.Generator().manual_seed(0))
    assert sorted(torch.cat(batches).tolist()) == list(range(65))
    assert min(len(b) for b in batches) > 1


def test_compile_falls_back_to_eager_when_it_fails(monkeypatch):
    """The CUDA fast path's torch.compile must never break training where it cannot run."""
    from ssl_core.engine import pretrain as pretrain_module

    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", lambda model: Broken())
    digits = load_digits()
    with pytest.warns(UserWarning, match="torch.compile failed"):
        result = pretrain_module.pretrain(PretrainConfig(epochs=1, image_size=8, compile=True), digits.images[:100],
                                          digits.images[100:120], allow_flip=False)
    assert result.evaluation.value > 0


def test_compile_unavailable_warns_and_trains(monkeypatch):
    from ssl_core.engine import pretrain as pretrain_module

    def unavailable(model):
        raise RuntimeError("unsupported platform")

    monkeypatch.setattr(torch, "compile", unavailable)
    digits = load_digits()
    with pytest.warns(UserWarning, match="unavailable"):
        pretrain_module.pretrain(PretrainConfig(epochs=1, image_size=8, compile=True), digits.images[:50],
                                 digits.images[50:60], allow_flip=False)


def test_per_epoch_scoring_is_a_small_share_of_the_epoch_and_the_end_scores_everything(monkeypatch):
    from ssl_core.pretext.rotation import RotationTask

    scored = []
    real_evaluate = RotationTask.evaluate

    def counting_evaluate(task, model, batches):
        batches = list(batches)
        scored.append(sum(len(targets) for _, targets in batches))
        return real_evaluate(task, model, batches)

    monkeypatch.setattr(RotationTask, "evaluate", counting_evaluate)
    digits = load_digits()
    result = pretrain(PretrainConfig(epochs=2, image_size=8), digits.images[:400], digits.images[400:700],
                      allow_flip=False)
    assert scored == [400 // 8 * 4, 400 // 8 * 4, 300 * 4]  # two epochs on 1/8 of 400 images, then all 300
    assert result.evaluation.n == 300 * 4


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), 0.0, -1e-3])
def test_a_learning_rate_that_is_not_a_positive_number_is_refused_with_a_message(lr):
    from ssl_core.engine.train import LoopConfig

    with pytest.raises(ValueError, match="learning rate must be a positive number"):
        LoopConfig(lr=lr)
