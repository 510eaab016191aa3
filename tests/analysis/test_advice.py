from dataclasses import replace

from ssl_core.analysis.advice import Situation, advise
from ssl_core.analysis.verdict import AT_CHANCE, HELPED, TOO_CLOSE, TOO_FEW

CLEAR = Situation(n_unlabeled=8000, n_labeled=20, n_test=2000, labels_per_class=2, image_size=28, colour=False,
                  outcome=TOO_CLOSE, seeds=3, pretext_accuracy=0.85, pretext_chance=0.25, train_accuracy=0.9,
                  test_accuracy=0.8)


def symptoms(situation: Situation) -> list[str]:
    return [a.symptom for a in advise(situation)]


def test_a_result_with_no_symptom_or_a_clear_win_gets_no_advice():
    assert advise(CLEAR) == []
    assert advise(replace(CLEAR, n_unlabeled=80, train_accuracy=1.0, test_accuracy=0.5, outcome=HELPED)) == []


def test_few_photos_ask_for_more_photos_labeled_or_not():
    found = advise(replace(CLEAR, n_unlabeled=80))
    assert [a.symptom for a in found] == ["few photos"]
    assert "Only 80 photos" in found[0].text and "labeled or not" in found[0].text


def test_a_pretext_task_at_chance_suggests_another_size_task_or_fewer_epochs():
    found = advise(replace(CLEAR, pretext_accuracy=0.212, pretext_chance=0.25))
    assert found[0].symptom == "pretext at chance"
    assert "21% on held-out images; chance 25%" in found[0].text
    assert "image size" in found[0].text and "fewer epochs" in found[0].text
    assert "pretext at chance" not in symptoms(replace(CLEAR, pretext_accuracy=None, pretext_chance=None))


def test_memorised_labels_ask_for_photos_not_epochs():
    found = advise(replace(CLEAR, train_accuracy=1.0, test_accuracy=0.55))
    assert [a.symptom for a in found] == ["memorised"]
    assert "More labeled photos will help; more epochs will not" in found[0].text


def test_a_small_test_set_asks_for_test_images_or_seeds():
    assert symptoms(replace(CLEAR, n_test=20, outcome=TOO_FEW)) == ["small test set"]
    assert symptoms(replace(CLEAR, seeds=1)) == ["one seed"]


def test_small_photos_and_few_labels_at_chance():
    assert symptoms(replace(CLEAR, colour=True, image_size=16)) == ["too small"]
    assert symptoms(replace(CLEAR, outcome=AT_CHANCE, labels_per_class=1)) == ["few labels"]


def test_the_train_page_warns_when_the_pretext_task_ends_at_chance_with_its_likely_cause():
    from ssl_core.analysis.advice import pretext_warning

    assert pretext_warning(0.59, 0.25, 1441, 32, True, 10) == ""
    few = pretext_warning(0.212, 0.25, 80, 32, True, 10)
    assert few.startswith("The pretext task ended at or below chance (21.2% on held-out images; chance 25.0%)")
    assert "only 80 images to learn from" in few
    assert "32 px or more" in pretext_warning(0.25, 0.25, 5000, 16, True, 10)
    assert "more epochs" in pretext_warning(0.25, 0.25, 5000, 32, True, 1)
    assert "another image size or pretext task" in pretext_warning(0.26, 0.25, 5000, 32, True, 10)
