"""Every retrieval module must be importable on its own, in a fresh interpreter.

Scripts, notebooks and workers import `retrieval.*` directly (without importing `assistant`
first); a circular import between `assistant/__init__.py` and `retrieval` breaks them.
"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", ["retrieval.documents", "retrieval.embedders", "retrieval.store"])
def test_module_imports_in_a_fresh_interpreter(module):
    proc = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"`import {module}` fails on its own:\n{proc.stderr[-1500:]}"
