import pytest

from ssl_core.app.settings import DownstreamSettings, Settings
from ssl_core.app.share import ShareError, from_params, is_link, link, to_params
from ssl_core.data.splits import SplitConfig
from ssl_core.engine.downstream import Transfer
from ssl_core.engine.pretrain import PretrainConfig
from ssl_core.pretext import TASKS

DEFAULTS = Settings("builtin:mnist-10k", PretrainConfig(image_size=28, epochs=8), SplitConfig(labels_per_class=2))


def test_a_setup_survives_the_round_trip_through_a_link():
    setup = Settings("tv:cifar10", PretrainConfig(task="jigsaw", settings=TASKS["jigsaw"].Settings(grid=3, permutations=32),
                                               backbone="small_cnn", image_size=32, epochs=5, batch_size=128,
                                               lr=3e-3, seed=7),
                  SplitConfig(test_fraction=0.25, labels_per_class=10, seed=3),
                     DownstreamSettings(Transfer.LINEAR, 3, 20, 1e-3, 2, batch_size=16, backbone_lr_scale=0.5))
    params = to_params(setup)
    assert params["data"] == "tv:cifar10" and params["t.permutations"] == "32" and params["lr"] == "0.003"
    assert from_params(params, DEFAULTS) == setup
    url = link("http://host:8501/train", setup)
    assert url.startswith("http://host:8501/train?data=tv%3Acifar10&task=jigsaw")


def test_rotation_angles_and_a_built_in_dataset_read_as_people_write_them():
    setup = from_params({"data": "digits", "task": "rotation", "t.angles": "90,180", "epochs": "3"}, DEFAULTS)
    assert setup.dataset == "builtin:digits" and setup.pretext.make_task().settings.angles == (90, 180)
    assert setup.pretext.epochs == 3 and setup.pretext.image_size == 28  # the rest from the defaults
    assert setup.split == DEFAULTS.split


def test_the_visitors_own_images_never_go_into_a_link():
    own = Settings(None)
    assert "data" not in to_params(own)
    assert "data" not in to_params(Settings("upload:0123456789abcdef"))


@pytest.mark.parametrize("params, says", [
    ({"data": "upload:0123456789abcdef"}, "not a built-in or downloadable dataset"),
    ({"data": "../etc/passwd"}, "not a built-in"),
    ({"task": "telepathy"}, "not a pretext task"),
    ({"epochs": "lots"}, "epochs='lots' is not a number"),
    ({"epochs": "0"}, "outside 1–500"),
    ({"test": "nan"}, "outside"),
    ({"lr": "0.5"}, "lr=0.5 is not one of"),
    ({"batch": "100"}, "batch=100 is not one of"),
    ({"t.angles": "45"}, "angle"),
    ({"t.wings": "2"}, "unknown option 'wings'"),
    ({"transfer": "magic"}, "transfer=magic is not one of"),
    ({"backbone": "gpt"}, "backbone=gpt"),
    ({"d_scale": "0"}, "d_scale=0 is outside"),
    ({"d_batch": "-4"}, "d_batch=-4 is outside"),
])
def test_a_bad_or_stale_link_says_which_value_is_wrong(params, says):
    with pytest.raises(ShareError, match=says):
        from_params(params, DEFAULTS)


def test_only_setup_keys_make_a_link():
    assert is_link({"data": "digits"}) and is_link({"t.grid": "3"})
    assert not is_link({"session": "abc", "present": "1"})


@pytest.mark.parametrize("params, says", [
    ({"task": "jigsaw", "t.gap": "nan"}, "gap must be a finite number, got nan"),
    ({"task": "simclr", "t.temperature": "inf"}, "temperature must be a finite number, got inf"),
])
def test_a_task_setting_that_is_not_a_finite_number_is_refused(params, says):
    with pytest.raises(ShareError, match=says):
        from_params(params, DEFAULTS)
    from ssl_core.pretext import parse_options, task_type

    name, value = next((k[2:], v) for k, v in params.items() if k.startswith("t."))
    with pytest.raises(ValueError, match="finite number"):  # the CLI's --task-option
        parse_options(task_type(params["task"]).Settings, [f"{name}={value}"])
