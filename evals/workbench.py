"""One evaluation run, the same for the CLI, the API and the UI: ask every item, write the results,
the summary and the HTML report. An interruption (Ctrl-C, a failure) keeps the items already done."""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from evals.dataset import Item


def execute(assistant, items: list[Item], out: Path, meta: dict[str, Any],
            on_item: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    from evals.report import write_report
    from evals.runner import run_items, write_run

    rows: list[dict[str, Any]] = []
    interrupted = None
    try:
        run_items(assistant, items, rows=rows, on_item=on_item)
    except BaseException as exc:  # Ctrl-C, or a failure no item could catch: the items done are kept
        interrupted = exc
    summary = write_run(out, rows, {**meta, "items": len(items), "done": len(rows),
                                    "failed": sum(1 for r in rows if r.get("error"))})
    write_report(out, rows, summary)
    if interrupted is not None:
        raise interrupted
    return summary


@dataclass
class Job:
    run_id: str
    out: Path
    total: int
    done: int = 0
    status: str = "running"  # running | done | failed
    error: str = ""
    summary: dict[str, Any] | None = None
    started: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, "done": self.done, "total": self.total,
                "error": self.error, "summary": self.summary}


class Jobs:
    """Background runs for the API and UI (one at a time per process is enough for staff use)."""

    def __init__(self, root: Path):
        self.root = root
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def start(self, assistant, items: list[Item], meta: dict[str, Any]) -> Job:
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        job = Job(run_id, self.root / run_id, len(items))
        with self.lock:
            self.jobs[run_id] = job

        def work() -> None:
            def progress(n: int, _total: int) -> None:
                job.done = n
            try:
                job.summary = execute(assistant, items, job.out, meta, progress)
                job.status = "done"
            except Exception as exc:  # noqa: BLE001 - reported on the job, never raised into a request
                job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"

        threading.Thread(target=work, name=f"pa-eval-{run_id}", daemon=True).start()
        return job

    def get(self, run_id: str) -> Job | None:
        return self.jobs.get(run_id)
