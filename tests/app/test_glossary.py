"""The app's words: one line each, and every term the pages explain is in the glossary."""
import re

import pytest

from ssl_core.app.glossary import TERMS, term
from tests.conftest import ROOT


def test_each_term_is_one_short_sentence_or_two():
    assert all("\n" not in text and 20 < len(text) < 300 and text.endswith(".") for text in TERMS.values())


def test_every_term_a_page_asks_for_is_in_the_glossary():
    asked = {name for page in (ROOT / "pages").glob("*.py") for name in re.findall(r'term\("([^"]+)"\)',
                                                                                    page.read_text())}
    assert asked and asked <= set(TERMS)
    assert {"linear probe", "block", "PSNR", "k-NN", "pseudo-label", "LP-FT", "fine-tuning"} <= set(TERMS)


def test_an_unknown_term_is_a_key_error():
    with pytest.raises(KeyError):
        term("flux capacitor")
