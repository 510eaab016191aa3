"""Crafted model files (issue 21): every declared size is checked before anything is built."""
import io
import math
import resource

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssl_core.analysis.comparison import compare_modes
from ssl_core.engine.downstream import DownstreamConfig
from ssl_core.engine.inference import predict, prepare_photo
from ssl_core.engine.model_file import ModelFileError, from_bytes, to_bytes
from tests.conftest import digits_setup as setup  # noqa: F401 (a fixture)
from tests.conftest import image_bytes

GB = 2**30


@pytest.fixture(scope="module")
def payload(digits_setup):
    digits, split, pretrained = digits_setup
    comparison = compare_modes(digits, split, pretrained, ["linear", "scratch"], DownstreamConfig(epochs=1, min_steps=2))
    return torch.load(io.BytesIO(to_bytes(pretrained, comparison, digits)), weights_only=True)


def saved(payload: dict) -> bytes:
    out = io.BytesIO()
    torch.save(payload, out)
    return out.getvalue()


def mutated(payload: dict, path: tuple, value) -> dict:
    copy = {**payload, "pretext": dict(payload["pretext"]),
            "classifiers": [dict(record) for record in payload["classifiers"]]}
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def opened_or_refused(data: bytes) -> None:
    """A clean ModelFileError, or a file whose models answer a photo: never anything else."""
    try:
        models = from_bytes(data)
    except ModelFileError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    photo = prepare_photo(image_bytes(size=(40, 40)), models.image_size, models.in_channels)
    for shown in models.photo_models():
        probs = predict(shown.model, photo.tensor, shown.temperature)[0]
        assert len(probs) == len(models.class_names) and math.isclose(float(probs.sum()), 1.0, rel_tol=1e-3)


@pytest.mark.parametrize("path, value, says", [
    (("image_size",), 300_000, "image_size"),
    (("pretext", "image_size"), 300_000, "image_size"),
    (("classifiers", 0, "grid"), 3000, "grid"),
    (("classifiers", 0, "num_classes"), 6_000_000, "num_classes"),
    (("classifiers", 0, "mode"), "telepathy", "unknown classifier mode"),
    (("class_names",), ["0", "1"], "classes but the file names 2"),
    (("in_channels",), 3000, "in_channels"),
    (("pretext", "lr"), float("nan"), "lr"),
    (("classifiers", 0, "temperature"), float("inf"), "temperature"),
    (("pretext", "lr"), 10**400, "damaged"),  # float() of it overflows
    (("pretext", "settings"), {"angles": [float("inf"), 90]}, "damaged"),  # int() of it overflows
])
def test_each_crafted_size_is_refused_before_anything_is_built(payload, path, value, says):
    before = peak_rss()
    with pytest.raises(ModelFileError, match=says):
        from_bytes(saved(mutated(payload, path, value)))
    assert peak_rss() - before < GB


HOSTILE = st.one_of(st.integers(-2**63, 2**63 - 1), st.sampled_from([0, -1, 1, 2**31, 10**12, 300_000]),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), st.none(), st.booleans(),
                    st.lists(st.integers(), max_size=3), st.just({}))
FIELDS = [("image_size",), ("in_channels",), ("class_names",), ("dataset",), ("domain",), ("allow_flip",),
          ("normalisation",), ("chance",), ("n_test",), ("pretext", "task"), ("pretext", "backbone"),
          ("pretext", "image_size"), ("pretext", "epochs"), ("pretext", "batch_size"), ("pretext", "lr"),
          ("pretext", "seed"), ("pretext", "settings"), ("pretext", "precision"), ("classifiers",)] + [
          ("classifiers", 0, key) for key in ("mode", "block", "grid", "frozen", "num_classes", "accuracy",
                                              "temperature", "precision")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(FIELDS), value=HOSTILE)
def test_a_mutated_payload_gets_a_message_or_works_and_never_a_runaway_allocation(payload, path, value):
    before = peak_rss()
    opened_or_refused(saved(mutated(payload, path, value)))
    assert peak_rss() - before < GB
