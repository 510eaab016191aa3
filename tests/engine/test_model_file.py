"""Taking a trained run home: one file, read back with weights_only, the same predictions."""
import io
import json
import zipfile

import pytest
import torch

from ssl_core.analysis.comparison import compare_modes
from ssl_core.engine.downstream import DownstreamConfig
from ssl_core.engine.inference import predict
from ssl_core.engine.model_file import ModelFileError, from_bytes, to_bytes
from tests.conftest import digits_setup as setup  # noqa: F401 (a fixture)


@pytest.fixture(scope="module")
def trained(digits_setup):
    digits, split, pretrained = digits_setup
    comparison = compare_modes(digits, split, pretrained, ["linear", "finetune", "scratch"],
                               DownstreamConfig(epochs=1, min_steps=4))
    return digits, split, pretrained, comparison


def test_a_saved_run_loads_back_with_the_same_predictions_and_settings(trained):
    digits, split, pretrained, comparison = trained
    data = to_bytes(pretrained, comparison, digits)
    loaded = from_bytes(data)
    images = digits.images[split.test][:32]
    for mode in ("linear", "finetune", "scratch"):
        assert torch.allclose(predict(comparison.model(mode), images), predict(loaded.classifiers[mode], images),
                              atol=1e-5), mode
        assert loaded.accuracies[mode] == pytest.approx(comparison.mean(mode))
    assert loaded.class_names == digits.class_names and loaded.in_channels == 1
    assert loaded.image_size == pretrained.config.image_size and loaded.pretext.task == pretrained.config.task
    assert loaded.pretext.settings == pretrained.task.settings and not loaded.allow_flip
    with torch.inference_mode():
        x = torch.randn(4, 1, loaded.image_size, loaded.image_size)
        assert torch.allclose(pretrained.model.eval().cpu()(x), loaded.pretext_model(x), atol=1e-5)


def test_a_pretext_model_alone_can_be_saved(digits_setup):
    digits, _, pretrained = digits_setup
    loaded = from_bytes(to_bytes(pretrained, None, digits))
    assert loaded.classifiers == {} and loaded.pretext.backbone == pretrained.config.backbone


def foreign_files() -> list[tuple[bytes, str]]:
    other = io.BytesIO()
    torch.save({"weights": torch.zeros(3)}, other)
    module = io.BytesIO()
    torch.save(torch.nn.Linear(2, 2), module)  # a pickled module: code, which weights_only refuses
    return [(b"", "not an SSL Playground model file"), (b"hello", "not an SSL Playground model file"),
            (other.getvalue(), "another kind"), (module.getvalue(), "not an SSL Playground model file")]


@pytest.mark.parametrize("data, reason", foreign_files())
def test_a_file_that_is_not_ours_gets_a_message(data, reason):
    with pytest.raises(ModelFileError, match=reason):
        from_bytes(data)


def test_a_damaged_file_gets_a_message(trained):
    digits, _, pretrained, comparison = trained
    data = to_bytes(pretrained, comparison, digits)
    with pytest.raises(ModelFileError):
        from_bytes(data[: len(data) // 2])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    assert any(name.endswith("data.pkl") for name in names)  # torch's zip format, tensors beside the record


def test_the_cli_loads_the_file_and_classifies_photos(trained, tmp_path, capsys):
    from ssl_core.cli import main as cli

    digits, split, pretrained, comparison = trained
    (tmp_path / "models.pt").write_bytes(to_bytes(pretrained, comparison, digits))
    from PIL import Image

    digit = digits.images[split.test][0, 0].numpy()
    Image.fromarray(digit, "L").save(tmp_path / "digit.png")
    (tmp_path / "notes.jpg").write_bytes(b"text")
    assert cli(["predict", "--load", str(tmp_path / "models.pt"), str(tmp_path / "digit.png"), str(tmp_path / "notes.jpg"),
                 "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "trained on digits, 10 classes" in out
    assert out.count("digit.png: ") == 3 and "digit.png: SSL fine-tuned: " in out and "%" in out
    assert "notes.jpg: skipped (not an image" in out


def test_the_cli_says_when_the_file_is_not_ours(tmp_path, capsys):
    from ssl_core.cli import main as cli

    (tmp_path / "x.pt").write_bytes(b"nope")
    assert cli(["predict", "--load", str(tmp_path / "x.pt"), str(tmp_path / "p.png")]) == 2
    assert "not an SSL Playground model file" in capsys.readouterr().err


def test_a_loaded_pretext_network_transfers_or_trains_on_in_the_cli_without_starting_over(digits_setup, tmp_path,
                                                                                         capsys):
    from ssl_core.cli import main

    digits, _, pretrained = digits_setup
    path = tmp_path / "models.pt"
    path.write_bytes(to_bytes(pretrained, None, digits))
    args = ["experiment", "--data", "digits", "--load", str(path), "--labels-per-class", "5", "--downstream-epochs", "1",
            "--downstream-min-steps", "2", "--json"]
    assert main(args) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert "the loaded pretext network, no pretext training" in out.err and "epoch 1/" not in out.err
    # scored on the same held-out split as when it was trained: the same figure
    assert report["pretext_score"] == pytest.approx(pretrained.evaluation.value, abs=1e-6)
    assert report["pretext_task"]["name"] == pretrained.config.task
    assert main(args + ["--continue-epochs", "1"]) == 0
    out = capsys.readouterr()
    assert "1 more epochs of the loaded network" in out.err and "pretext: epoch 1/1" in out.err


def test_continued_training_starts_from_the_weights_not_from_scratch(digits_setup):
    from dataclasses import replace

    from ssl_core.engine.pretrain import pretrain
    from ssl_core.engine.train import Callbacks

    digits, split, pretrained = digits_setup

    class Losses(Callbacks):
        def __init__(self):
            self.losses = []

        def on_step(self, event):
            self.losses.append(event.loss)

    one = replace(pretrained.config, epochs=1)
    fresh, carried = Losses(), Losses()
    pretrain(one, digits.images[split.pool], digits.images[split.test], fresh, allow_flip=False)
    result = pretrain(one, digits.images[split.pool], digits.images[split.test], carried, allow_flip=False,
                      start_from=from_bytes(to_bytes(pretrained, None, digits)).pretext_model)
    assert carried.losses[0] < 0.8 * fresh.losses[0]  # it already knows the task
    assert result.evaluation.value >= pretrained.evaluation.value - 0.05
    with pytest.raises(ValueError, match="another task"):
        pretrain(replace(one, task="jigsaw"), digits.images[split.pool], digits.images[split.test],
                 start_from=pretrained.model)
