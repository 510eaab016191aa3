from ssl_core.stats import Difference
from ssl_core.verdict import AT_CHANCE, HELPED, HURT, TOO_CLOSE, block_verdict, chance_note, compare


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


def test_at_chance_is_named_with_a_cause_and_a_fix():
    assert compare("SSL fine-tuned", 0.504, 0.501, difference(0.003, -0.03, 0.04, 361), 20, 0.5).outcome == AT_CHANCE
    note = chance_note({"SSL fine-tuned": 0.504, "from scratch": 0.501}, 361, 0.5, image_size=16, colour=True,
                       labels_per_class=10)
    assert note.startswith("No model learned this task: accuracy is at chance level, 50%")
    assert "use 32 px or more" in note
    partial = chance_note({"SSL linear probe": 0.12, "from scratch": 0.6}, 2000, 0.1135)
    assert partial.startswith("SSL linear probe is at chance level (11%)")
    assert chance_note({"from scratch": 0.9}, 2000, 0.11) == ""


def test_block_verdict():
    assert block_verdict({1: 0.5, 2: 0.7, 3: 0.6}).startswith("Block 2 transfers best (70.0%)")
    assert block_verdict({}) == ""
