"""The import rule (docs/architecture.md): the learning library (data, pretext, engine, analysis) never imports
the app's services, the command line, the benchmarks or Streamlit; nothing in ssl_core imports Streamlit."""
import ast
from pathlib import Path

from tests.conftest import ROOT

LIBRARY = ("data", "pretext", "engine", "analysis")
NOT_FROM_THE_LIBRARY = ("ssl_core.app", "ssl_core.cli", "ssl_core.bench", "streamlit", "pages")


def imported(source: str) -> set[str]:
    """Every module `source` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def violations(path: Path, source: str) -> list[str]:
    """The imports of the module at `path` (relative to the project) that break the rule."""
    parts = path.parts
    in_library = len(parts) > 2 and parts[0] == "ssl_core" and parts[1] in LIBRARY
    banned = NOT_FROM_THE_LIBRARY if in_library else ("streamlit", "pages") if parts[0] == "ssl_core" else ()
    return sorted(name for name in imported(source) if name.split(".")[0] in banned
                  or any(name == b or name.startswith(b + ".") for b in banned))


def test_the_library_never_imports_the_apps_services_the_cli_or_streamlit():
    broken = {str(path.relative_to(ROOT)): found for path in (ROOT / "ssl_core").rglob("*.py")
              if (found := violations(path.relative_to(ROOT), path.read_text()))}
    assert not broken, broken


def test_the_rule_catches_a_library_module_that_imports_a_service():
    assert violations(Path("ssl_core/engine/train.py"), "from ssl_core.app.jobs import Job") == ["ssl_core.app.jobs",
                                                                                               "ssl_core.app.jobs.Job"]
    assert violations(Path("ssl_core/analysis/plots.py"), "def f():\n    import ssl_core.app.share\n")
    assert violations(Path("ssl_core/data/images.py"), "import streamlit as st") == ["streamlit"]
    assert violations(Path("ssl_core/app/jobs.py"), "from ssl_core.engine.train import Callbacks") == []
    assert violations(Path("ssl_core/app/jobs.py"), "import streamlit") == ["streamlit"]  # services neither


def test_each_package_is_one_concern_with_no_module_left_at_the_top():
    top = sorted(p.name for p in (ROOT / "ssl_core").glob("*.py"))
    assert top == ["__init__.py", "__main__.py"], top
    packages = sorted(p.name for p in (ROOT / "ssl_core").iterdir() if (p / "__init__.py").exists())
    assert packages == ["analysis", "app", "bench", "cli", "data", "engine", "pretext"]


def test_pages_holds_the_pages_and_what_they_share_lives_in_pages_ui():
    """Every file in pages/ is a page of app.py's navigation; the shared widgets and state are in pages/ui."""
    import re

    listed = set(re.findall(r'st\.Page\("(pages/\w+\.py)"', (ROOT / "app.py").read_text()))
    assert {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")} == listed
    assert {"state.py", "jobs.py", "widgets.py"} <= {p.name for p in (ROOT / "pages" / "ui").glob("*.py")}
