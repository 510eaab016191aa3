import torch

from ssl_core.analysis.stats import Difference
from ssl_core.analysis.verdict import (AT_CHANCE, HELPED, HURT, TOO_CLOSE, TOO_FEW, block_verdict, chance_note, compare,
                                       guessing, images_needed, reconstruction_words)


def difference(mean, low, high, n_test=2000, n_seeds=1):
    return Difference(mean, low, high, n_test, n_seeds, "test")


def test_a_clear_win_says_helped_with_its_interval():
    verdict = compare("SSL fine-tuned", 0.72, 0.57, difference(0.15, 0.12, 0.17), 20, chance=0.11)
    assert verdict.outcome == HELPED
    assert verdict.text == ("With 20 labels, SSL fine-tuned beats training from scratch by 15.0 points (72.0% vs "
                            "57.0%; 95% interval +12.0 to +17.0 points, 2,000 test images): self-supervision helped.")


def test_a_tie_is_too_close_to_call_and_says_what_would_settle_it():
    verdict = compare("SSL linear probe", 0.535, 0.501, difference(0.033, -0.04, 0.107, n_test=361), 100, chance=0.5)
    assert verdict.outcome == AT_CHANCE  # 53.5% on 361 images is not clearly above a coin flip
    verdict = compare("SSL linear probe", 0.80, 0.79, difference(0.01, -0.01, 0.03, n_seeds=3), 100, chance=0.1)
    assert verdict.outcome == TOO_CLOSE and "helped" not in verdict.text and "hurt" not in verdict.text
    assert "too close to call with 2,000 test images, mean of 3 seeds" in verdict.text
    assert "more seeds or a larger test set would settle it" in verdict.text


def test_a_clear_loss_says_hurt():
    verdict = compare("SSL linear probe", 0.85, 0.92, difference(-0.07, -0.08, -0.05), 100, chance=0.1)
    assert verdict.outcome == HURT and "7.0 points worse" in verdict.text and "hurt" in verdict.text


def test_at_chance_is_named_in_words():
    assert compare("SSL fine-tuned", 0.504, 0.501, difference(0.003, -0.03, 0.04, 361), 20, 0.5).outcome == AT_CHANCE
    note = chance_note({"SSL fine-tuned": 0.504, "from scratch": 0.501}, 361, 0.5, chance_class="dogs")
    assert note.startswith("No model is clearly better than guessing: always answering 'dogs' scores 50% here")
    partial = chance_note({"SSL linear probe": 0.12, "from scratch": 0.6}, 2000, 0.1135)
    assert partial.startswith("SSL linear probe (12.0%) is not clearly above chance")
    assert "always giving the same answer scores 11% here" in partial
    assert chance_note({"from scratch": 0.9}, 2000, 0.11) == ""


def test_a_significant_win_of_a_model_that_is_still_guessing_is_not_called_helped():
    """Issue 20's cats and dogs: +6.9 [+1.9, +12.2] over scratch, but 56.2% against 55% for always 'dogs'."""
    verdict = compare("SSL fine-tuned", 0.562, 0.493, difference(0.069, 0.019, 0.122, 361), 20, 0.55, "dogs")
    assert verdict.outcome == AT_CHANCE and not verdict.significant
    assert "helped" not in verdict.text and "6.9 points more" in verdict.text
    assert "always answering 'dogs' scores 55% here" in verdict.text
    assert "not clearly above chance" in verdict.text and "at chance level" not in verdict.text


def test_twenty_test_images_say_so_first_and_how_many_would_tell():
    verdict = compare("SSL fine-tuned", 0.70, 0.65, difference(0.05, -0.20, 0.30, 20), 100, 0.5, "dogs")
    assert verdict.outcome == TOO_FEW and verdict.text.startswith("20 test images are too few")
    assert "would need about 500 test images" in verdict.text  # half-width 25 points shrinks to 5 at 25x the images
    assert images_needed(difference(0.05, -0.20, 0.30, 20)) == 500
    assert images_needed(difference(0.0, -0.20, 0.20, 20)) is None


def test_a_model_clearly_above_chance_is_never_called_at_chance():
    verdict = compare("SSL fine-tuned", 0.65, 0.62, difference(0.03, -0.02, 0.08, 2000), 20, 0.5, "dogs")
    assert verdict.outcome == TOO_CLOSE and "chance" not in verdict.text
    assert guessing("from scratch", 0.48, 100, 0.5).endswith("is at or below chance level")
    assert "not clearly above chance" in guessing("from scratch", 0.56, 100, 0.5)


def test_a_loss_counts_only_when_scratch_itself_learned():
    both_guessing = compare("SSL linear probe", 0.40, 0.52, difference(-0.12, -0.18, -0.06, 361), 20, 0.55)
    assert both_guessing.outcome == AT_CHANCE and "hurt" not in both_guessing.text
    assert "training from scratch scores 12.0 points more" in both_guessing.text


def outcomes(accuracy: float, n: int = 1000, shift: int = 0) -> torch.Tensor:
    return torch.roll(torch.arange(n) < round(accuracy * n), shift)


def test_a_block_is_called_best_only_with_an_interval_that_excludes_zero():
    clear = block_verdict({1: 0.5, 2: 0.7, 3: 0.6}, {1: outcomes(0.5), 2: outcomes(0.7), 3: outcomes(0.6)})
    assert clear.startswith("Block 2 transfers best (70.0%), +10.0 points ahead of block 3 (95% interval")
    close = block_verdict({1: 0.41, 2: 0.40, 3: 0.38}, {1: outcomes(0.41, 100), 2: outcomes(0.40, 100, 7),
                                                      3: outcomes(0.38, 100, 30)})
    assert close.startswith("Blocks 1 and 2 are too close to call") and "transfers best" not in close
    assert "RotNet" not in close
    assert block_verdict({}, {}) == ""


def test_reconstruction_scores_are_read_against_the_trivial_answer():
    assert "hardly better" in reconstruction_words(20.8, 20.4, "one mean colour everywhere")
    assert "somewhat better, 21% less squared error" in reconstruction_words(21.4, 20.4, "the blurry enlargement")
    assert "clearly better, 60% less" in reconstruction_words(10.4, 6.4, "the mean colour")
