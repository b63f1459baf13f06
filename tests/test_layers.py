"""The layers only point down: an import that points up (or sideways from ui to api) fails here.

    retrieval  <  assistant  <  evals  <  ui  <  api
Every module of a package may import its own package and the packages left of it. Entry points
(`assistant/cli/main.py`, `assistant/__main__.py`, `evals/cli.py`, `evals/__main__.py`) compose the layers
and may import anything. Imports inside functions count too: a lazy import is still an arrow.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["retrieval", "assistant", "evals", "ui", "api"]
ENTRY_POINTS = {"assistant/cli/main.py", "assistant/__main__.py", "evals/cli.py", "evals/__main__.py",
                "evals/benchmarks/cli.py"}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in the module, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name.split(".")[0]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def arrows_up() -> list[str]:
    bad = []
    for rank, package in enumerate(LAYERS):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ENTRY_POINTS:
                continue
            for line, target in imported_packages(path):
                if target in LAYERS and LAYERS.index(target) > rank:
                    bad.append(f"{rel}:{line} imports {target} ({package} may import {', '.join(LAYERS[:rank + 1])})")
    return bad


def test_imports_only_point_down():
    assert arrows_up() == []


def test_the_walk_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from api.app import create_app\n    import ui.app as u\n")
    assert imported_packages(module) == [(1, "os"), (4, "api"), (5, "ui")]


@pytest.mark.parametrize("package", LAYERS)
def test_every_layer_is_walked(package):
    assert list((ROOT / package).rglob("*.py")), package


PRODUCT = ["retrieval", "assistant", "evals", "ui", "api"]
MAX_MODULE_LINES = 400
MAX_FOLDER_MODULES = 15


def test_no_product_module_is_over_400_lines():
    long = [f"{p.relative_to(ROOT)}: {n}" for pkg in PRODUCT for p in sorted((ROOT / pkg).rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert long == [], "split these modules: " + "; ".join(long)


def test_no_product_folder_holds_more_than_15_modules():
    folders = {p.parent for pkg in PRODUCT for p in (ROOT / pkg).rglob("*.py")}
    crowded = [f"{d.relative_to(ROOT)}: {n}" for d in sorted(folders)
               if (n := len(list(d.glob("*.py")))) > MAX_FOLDER_MODULES]
    assert crowded == [], "group these folders by job: " + "; ".join(crowded)


def test_the_package_docstrings_draw_the_ask_path():
    """A newcomer reading assistant/__init__.py and assistant/pipeline/__init__.py sees the path of a question."""
    root_doc = (ROOT / "assistant" / "__init__.py").read_text(encoding="utf-8")
    pipeline_doc = (ROOT / "assistant" / "pipeline" / "__init__.py").read_text(encoding="utf-8")
    assert "assistant.core.Assistant.ask" in root_doc and "pipeline" in root_doc
    stages = ["understand.py", "multipart.py", "routes.py", "retrieve.py", "evidence.py", "extractive.py"]
    positions = [pipeline_doc.index(s) for s in stages]
    assert positions == sorted(positions)  # in the order they run
    for module in stages:
        assert (ROOT / "assistant" / "pipeline" / module).is_file(), module
