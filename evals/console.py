"""What the evals commands share: the console they report on (stderr) and a set loaded or a clean exit."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from assistant.errors import DatasetError
from evals.dataset import load_set

console = Console(stderr=True)


def load_set_or_exit(path: Path, max_question_chars: int | None = None):
    """The set's items, or the problems naming the file, row and column (exit code 2)."""
    try:
        return load_set(path, max_question_chars)
    except (DatasetError, OSError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2)
