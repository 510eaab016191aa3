"""Which device trains, in words, and a clear refusal of one that is not there."""
import pytest
import torch

from ssl_core.engine.device import describe, pick_device


def test_auto_picks_what_there_is_and_cpu_is_always_there():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in ("cpu", "cuda", "mps")


def test_an_absent_or_unknown_device_is_a_message():
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        pick_device("tpu")


def test_the_cpu_is_described_with_its_threads():
    threads = torch.get_num_threads()
    assert describe(torch.device("cpu")) == f"CPU ({threads} thread{'' if threads == 1 else 's'})"
