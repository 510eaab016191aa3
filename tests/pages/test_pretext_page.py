"""Page 2, Pretext: the gallery, the task settings and the guessing game."""
import pytest
import torch

from tests.app_helpers import answer_round, app, button, no_errors, start_training, wait_for_job


def test_pretext_gallery_for_rotation_and_jigsaw():
    at = app()
    at.switch_page("pages/pretext.py").run()
    no_errors(at)
    assert len(at.get("image")) == 6 * 4 + 1  # the gallery, then the guessing game's question
    at.multiselect[0].set_value([90, 180]).run()
    assert len(at.get("image")) == 6 * 2 + 1
    assert at.session_state.settings.tasks["rotation"].angles == (90, 180)
    at.radio[0].set_value("jigsaw").run()
    no_errors(at)
    assert any("minimum Hamming distance" in c.value for c in at.caption)
    assert len(at.get("image")) == 6 * 2 + 1 + 4  # the question: shuffled tiles, and four ways to put them back
    at.radio[1].set_value(3).run()
    no_errors(at)
    assert at.session_state.settings.tasks["jigsaw"].grid == 3
    at.radio[0].set_value("rotation").run()
    at.switch_page("pages/train.py").run()
    at.switch_page("pages/pretext.py").run()
    at.radio[0].set_value("jigsaw").run()
    assert at.session_state.settings.tasks["jigsaw"].grid == 3, "a task's settings survive switching away"
    assert at.session_state.settings.tasks["rotation"].angles == (90, 180)
    assert any(c.value.startswith("jigsaw 3×3: which of 24 permutations") for c in at.caption)


def test_you_guess_first_then_the_trained_network_plays_the_same_questions():
    at = app()
    at.switch_page("pages/pretext.py").run()
    assert any("Which way was this image turned?" in m.value for m in at.markdown)
    answer_round(at)
    no_errors(at)
    score = next(m.value for m in at.markdown if m.value.startswith("You: "))
    assert " of 8**" in score and "chance: 25%" in score and "the network" not in score
    assert any("Train this task on the **Train** page" in c.value for c in at.caption)
    button(at, "Next round").click().run()
    assert any(m.value.startswith("**Question 1 of 8.**") for m in at.markdown)
    at = start_training(at)
    wait_for_job(at, "train_job")
    at.switch_page("pages/pretext.py").run()  # 8 px now: the images the network trained on, a new round
    answer_round(at, pick=1)
    no_errors(at)
    score = next(m.value for m in at.markdown if m.value.startswith("You: "))
    assert " of 8** · the network: **" in score and "of 8** on the same questions" in score
    assert any("The network chose" in box.value for box in (*at.success, *at.warning))


def test_after_an_answer_the_game_shows_the_question_and_the_right_answer_with_why():
    at = app()
    at.switch_page("pages/pretext.py").run()
    at.radio(key="pretext_task").set_value("jigsaw").run()
    question = next(b for b in at.button if b.key == "quiz_1_0_0")
    wrong = next(b for b in at.button if b.key and b.key.startswith("quiz_1_0_")
                 and int(b.key.rsplit("_", 1)[1]) != at.session_state.game.quiz.questions[0].answer)
    assert question is not None
    wrong.click().run()
    no_errors(at)
    assert any("Not quite: the answer was" in w.value for w in at.warning)
    assert {"the question", "the right answer"} <= {c.value for c in at.caption}
    assert any(c.value.startswith("Why: Only in the right order") for c in at.caption)


def test_the_games_questions_do_not_give_the_answer_away():
    """SimCLR's wrong views come from other images of the round: all of one class, a 7 is not the only 7.
    Colorization asks only about colourful photos."""
    from pages.ui.quiz_panel import question_images
    from ssl_core.data.datasets import ImageDataset, load_digits
    from ssl_core.data.splits import SplitConfig, make_split
    from ssl_core.pretext import make_task

    digits = load_digits()
    split = make_split(digits.labels, SplitConfig(), digits.class_names)
    for seed in range(5):
        picks = question_images(digits, split, make_task("simclr"), 16, torch.Generator().manual_seed(seed))
        assert len(picks) == 8 and len(set(digits.labels[picks].tolist())) == 1
    rotation = question_images(digits, split, make_task("rotation"), 16, torch.Generator().manual_seed(0))
    assert len(set(digits.labels[rotation].tolist())) > 1  # a task that compares nothing keeps its variety
    g = torch.Generator().manual_seed(0)
    colour = torch.randint(0, 256, (20, 3, 16, 16), dtype=torch.uint8, generator=g)
    grey = torch.randint(0, 256, (20, 1, 16, 16), dtype=torch.uint8, generator=g).expand(20, 3, 16, 16)
    photos = ImageDataset("photos", torch.cat([grey, colour]), torch.zeros(40, dtype=torch.int64), ("all",))
    everything = make_split(photos.labels, SplitConfig(test_fraction=0.99), photos.class_names)
    picks = question_images(photos, everything, make_task("colorization"), 16, torch.Generator().manual_seed(0))
    assert len(picks) == 8 and (picks >= 20).all()  # the colourful ones only
    with pytest.raises(ValueError, match="too few of these images suit the colorization game"):
        only_grey = ImageDataset("grey", grey.clone(), torch.zeros(20, dtype=torch.int64), ("all",))
        question_images(only_grey, make_split(only_grey.labels, SplitConfig(test_fraction=0.99)),
                        make_task("colorization"), 16, torch.Generator())


def test_context_questions_skip_digits_with_empty_corners():
    from ssl_core.pretext import make_task

    images = torch.zeros(2, 1, 27, 27, dtype=torch.uint8)
    images[0, :, 9:18, 9:18] = 255  # only the centre cell has ink
    images[1, :, 2:25, 2:25] = torch.randint(0, 256, (23, 23), dtype=torch.uint8, generator=torch.Generator())
    assert make_task("context").quiz_usable(images).tolist() == [False, True]


def test_a_double_click_in_the_guessing_game_scores_once():
    from pages.ui.quiz_panel import Game
    from ssl_core.data.datasets import load_digits
    from ssl_core.data.splits import SplitConfig, make_split
    from ssl_core.engine.pretrain import PretrainConfig

    digits = load_digits()
    game = Game(("digits",))
    game.new_round(digits, make_split(digits.labels, SplitConfig(), digits.class_names), PretrainConfig(image_size=8))
    right = game.quiz.questions[0].answer
    game.answer(0, right)
    game.answer(0, right)  # the same button again, before the page moved on
    assert (game.asked, game.you, len(game.answers)) == (1, 1, 1)
    game.answer(1, (game.quiz.questions[1].answer + 1) % 4)
    assert (game.asked, game.you) == (2, 1)
