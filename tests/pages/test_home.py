"""Home: what SSL is on one photo, the three doors, the glossary."""

from tests.app_helpers import app, markdown, no_errors


def test_home_page_explains_and_links_the_steps():
    at = app()
    no_errors(at)
    assert "pretext task" in markdown(at)
    assert len(at.get("image")) == 4 + 6 * 2  # one photo: four rotations, a pair for each other task
    assert "Dataset:** mnist-10k (10,000 images)" in markdown(at)
