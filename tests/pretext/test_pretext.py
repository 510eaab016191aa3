"""What every pretext task promises, the settings machinery, and a new task added through the
registry alone (the toy task at the end)."""
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from ssl_core.engine.models import Classifier, small_cnn
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.pretext import (TASKS, ClassificationTask, PretextSample, TaskSettings, make_task, option, options,
                              parse_options, settings_dict, settings_from)


def colour_images(n=6, size=24, seed=0):
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_trains_one_step_and_scores_and_previews(name):
    task = make_task(name)
    inputs, targets = task.training_batch(colour_images(), torch.Generator().manual_seed(0))
    model = task.build_model(small_cnn(3))
    assert hasattr(model, "backbone")  # what downstream transfers
    outputs = model(inputs)
    loss = task.loss(outputs, targets)
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert task.score(outputs.detach(), targets).shape == (len(outputs),)
    score = task.evaluate(model, [(inputs, targets)])
    assert score.n > 0 and score.metric == task.metric and score.baseline_label
    samples = task.preview(colour_images(2), torch.Generator())
    assert samples and all(s.image.dtype.name == "uint8" and s.image.shape[-1] == 3 for s in samples)
    assert task.describe()


@pytest.mark.parametrize("name", sorted(TASKS))
def test_the_gallery_shows_what_training_generates_for_the_same_settings_and_seed(name):
    """The Pretext page builds its task from the same config as training (`PretrainConfig.make_task`),
    and its gallery renders `training_batch`, the function training calls for every batch."""
    settings_type = TASKS[name].Settings
    config = PretrainConfig(task=name, settings=settings_type(), seed=7)
    shown, trained = config.make_task(), pretrain(
        PretrainConfig(task=name, settings=settings_type(), seed=7, epochs=1, image_size=16, batch_size=8),
        colour_images(16, 16), colour_images(4, 16, seed=1)).task
    assert shown.describe() == trained.describe()
    images = colour_images(3, 16, seed=2)
    gallery_batch = shown.training_batch(images, torch.Generator().manual_seed(3))
    training_batch = trained.training_batch(images, torch.Generator().manual_seed(3))
    for a, b in zip(gallery_batch, training_batch):
        assert torch.equal(a.cpu(), b.cpu())
    assert len(shown.preview(images, torch.Generator().manual_seed(3))) >= len(images)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_makes_a_guessing_game_that_a_network_can_play(name):
    task = make_task(name)
    quiz = task.quiz(colour_images(8, 16), torch.Generator().manual_seed(0))
    assert len(quiz.questions) == 8 and quiz.ask.endswith("?")
    for q in quiz.questions:
        assert 2 <= len(q.choices) <= 8 and 0 <= q.answer < len(q.choices)
        assert q.prompt.dtype.name == "uint8" and q.prompt.shape[-1] == 3
        assert not q.pictures or (len(q.pictures) == len(q.choices) and {p.shape for p in q.pictures} == {
            q.pictures[0].shape})
    assert len({q.answer for q in quiz.questions}) > 1, "the right answer does not always sit in the same place"
    assert quiz.chance == pytest.approx(sum(1 / len(q.choices) for q in quiz.questions) / 8)
    answers = task.quiz_answers(task.build_model(small_cnn(3)), quiz)
    assert len(answers) == 8 and all(0 <= a < len(q.choices) for a, q in zip(answers, quiz.questions))


def test_settings_describe_themselves_and_parse_from_text_and_json():
    jigsaw = TASKS["jigsaw"].Settings
    names = [opt.name for opt in options(jigsaw)]
    assert names[:2] == ["grid", "permutations"]
    assert all(opt.help for opt in options(jigsaw))
    parsed = parse_options(jigsaw, ["grid=3", "permutations=100"])
    assert (parsed.grid, parsed.permutations) == (3, 100)
    assert settings_from(jigsaw, settings_dict(parsed)) == parsed
    rotation = parse_options(TASKS["rotation"].Settings, ["angles=90,180"])
    assert rotation.angles == (90, 180) and settings_dict(rotation) == {"angles": [90, 180]}
    with pytest.raises(ValueError, match="unknown option 'tiles'"):
        parse_options(jigsaw, ["tiles=3"])
    with pytest.raises(ValueError, match="name=value"):
        parse_options(jigsaw, ["grid"])
    with pytest.raises(ValueError, match="permutations must be one of"):
        parse_options(jigsaw, ["permutations=30"])
    with pytest.raises(ValueError, match="between 0 and 0.5"):
        parse_options(jigsaw, ["gap=0.9"])


def test_unknown_task_lists_the_valid_ones():
    with pytest.raises(KeyError, match="colorization.*jigsaw.*rotation"):
        make_task("sudoku")


def test_colour_only_tasks_say_why_on_grey_images():
    unavailable = {name: task.unavailable(1) for name, task in TASKS.items()}
    assert unavailable["colorization"].startswith("Colorization needs colour images")
    assert not any(text for name, text in unavailable.items() if name != "colorization")
    assert not any(task.unavailable(3) for task in TASKS.values())


# ---- a new task through the registry alone ----------------------------------------------------

@dataclass(frozen=True)
class MirrorSettings(TaskSettings):
    share: float = option(0.5, "Share of images mirrored.", low=0.1, high=0.9)


class MirrorTask(ClassificationTask):
    """Was the image mirrored left to right? (A toy: one file, one registry line, one test.)"""

    name = "mirror"
    title = "Mirror"
    Settings = MirrorSettings
    explanation = "Was the image mirrored?"
    gallery_group = 1

    @property
    def num_classes(self) -> int:
        return 2

    def make_batch(self, images, generator):
        flipped = torch.rand(len(images), generator=generator, device=images.device) < self.settings.share
        return torch.where(flipped[:, None, None, None], images.flip(-1), images), flipped.long()

    def build_model(self, backbone: nn.Module) -> nn.Module:
        return Classifier(backbone, 2)

    def render(self, images, inputs, targets):
        from ssl_core.pretext.base import pixels, to_display

        return [PretextSample(to_display(pixels(x)), "mirrored" if t else "as is") for x, t in zip(inputs, targets)]

    def describe(self) -> str:
        return f"mirror: was it mirrored ({self.settings.share:.0%} are)"


@pytest.fixture
def mirror_registered(monkeypatch):
    monkeypatch.setitem(TASKS, "mirror", MirrorTask)  # the one registry line
    yield


def test_a_new_task_is_one_class_and_one_registry_line(mirror_registered, digits_setup):
    from ssl_core.cli import build_parser
    from ssl_core.cli.experiment import config_from_args
    from ssl_core.engine.downstream import DownstreamConfig, train_downstream

    dataset, split, _ = digits_setup
    config = PretrainConfig(task="mirror", settings=parse_options(MirrorSettings, ["share=0.3"]), epochs=1,
                            image_size=8)
    result = pretrain(config, dataset.images[split.pool], dataset.images[split.test])
    assert result.evaluation.baseline == 0.5 and result.evaluation.confusion.shape == (2, 2)
    probe = train_downstream("linear", result, dataset.images[split.labeled], dataset.labels[split.labeled],
                             dataset.images[split.test], dataset.labels[split.test], dataset.num_classes,
                             DownstreamConfig(epochs=1, min_steps=5))
    assert 0 <= probe.evaluation.accuracy <= 1
    args = build_parser().parse_args(["experiment", "--pretext", "mirror", "--task-option", "share=0.7"])
    assert config_from_args(args).pretext.make_task().describe() == "mirror: was it mirrored (70% are)"
    from ssl_core.analysis.experiment import task_options_text

    assert "share=0.5  (0.1 to 0.9) Share of images mirrored." in task_options_text()


@pytest.mark.slow  # Streamlit's AppTest
def test_a_new_task_shows_on_the_pretext_page_with_its_control_and_gallery(mirror_registered):
    from tests.app_helpers import app, no_errors

    at = app()
    at.switch_page("pages/pretext.py").run()
    at.radio(key="pretext_task").set_value("mirror").run()
    no_errors(at)
    assert any("Was the image mirrored?" in m.value for m in at.markdown)
    assert [s.label for s in at.slider] == ["Share"]
    at.slider[0].set_value(0.3).run()
    assert any("mirror: was it mirrored (30% are)" in c.value for c in at.caption)
    assert len(at.get("image")) == 6 + 1  # the gallery, and the guessing game's first question
    assert [b.label for b in at.button if b.label in ("#0", "#1")] == ["#0", "#1"]  # its answers, with no code
    assert at.session_state.settings.tasks["mirror"] == MirrorSettings(share=0.3)
