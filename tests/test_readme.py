"""The README's claims that name tests: every test named in the robustness table exists."""
import ast
import re

from tests.conftest import ROOT


def defined_tests() -> set[str]:
    """`engine/test_x.py::test_y`: a test by its path under tests/ and its name."""
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text())
        names |= {f"{path.relative_to(ROOT / 'tests').as_posix()}::{node.name}" for node in tree.body
                  if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    return names


def test_every_row_of_the_robustness_table_names_tests_that_exist():
    table = (ROOT / "docs" / "hostile-inputs.md").read_text()
    rows = [line for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) >= 30
    named = [re.findall(r"`((?:\w+/)?test_\w+\.py::test_\w+)`", row) for row in rows]
    assert all(named), [row for row, tests in zip(rows, named) if not tests]
    missing = {t for tests in named for t in tests} - defined_tests()
    assert not missing, missing


def test_the_readme_is_short_and_every_link_and_picture_it_names_exists():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 15_000
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name} links to {target}, which is missing"


def test_the_readme_gives_the_two_commands_word_for_word():
    readme = (ROOT / "README.md").read_text()
    assert ("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/streamlit run app.py"
            in readme)
    assert "\nbash tests/run.sh\n" in readme and "bash tests/run.sh" in (ROOT / ".ci" / "run").read_text()
