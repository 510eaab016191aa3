"""The two metrics the pretext tasks report: accuracy as a share, PSNR in decibels (over a region where given)."""
import math

import torch

from ssl_core.engine.metrics import ACCURACY, PSNR, psnr


def test_metrics_format_as_people_read_them():
    assert ACCURACY.format(0.8766) == "87.7%" and PSNR.format(21.04) == "21.0 dB"
    assert ACCURACY.fraction and not PSNR.fraction


def test_psnr_of_a_known_error_and_of_a_perfect_answer():
    truth = torch.zeros(2, 1, 4, 4)
    half = truth + 0.5  # squared error 0.25 everywhere
    assert torch.allclose(psnr(half, truth), torch.full((2,), -10 * math.log10(0.25)))
    assert (psnr(truth, truth) == 100).all()  # the error is clamped, never infinite


def test_psnr_over_a_mask_counts_only_the_masked_pixels():
    truth = torch.zeros(1, 1, 4, 4)
    output = truth.clone()
    output[..., :2, :] = 1.0  # wrong on the top half only
    top, bottom = torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    top[..., :2, :], bottom[..., 2:, :] = 1, 1
    assert psnr(output, truth, top).item() == 0.0  # all wrong there: error 1, 0 dB
    assert psnr(output, truth, bottom).item() == 100.0
