"""The README's claims that name tests: every test named in the robustness table exists."""
import ast
import re

from tests.conftest import ROOT


def defined_tests() -> set[str]:
    names = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        tree = ast.parse(path.read_text())
        names |= {f"{path.name}::{node.name}" for node in tree.body
                  if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    return names


def test_every_row_of_the_robustness_table_names_tests_that_exist():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Hostile and broken input"):]
    table = table[:table.index("\n## ")]
    rows = [line for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) >= 30
    named = [re.findall(r"`(test_\w+\.py::test_\w+)`", row) for row in rows]
    assert all(named), [row for row, tests in zip(rows, named) if not tests]
    missing = {t for tests in named for t in tests} - defined_tests()
    assert not missing, missing
