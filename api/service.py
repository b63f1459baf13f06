"""The assistant behind the app: loaded (or built, on first run) in a background thread.

`/healthz` answers while this loads; `/readyz` and every query endpoint answer 503 until it is ready.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from assistant.core import Assistant
from assistant.errors import AssistantError, IndexNotReady, StoreUnavailable
from assistant.settings import Settings

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


class Service:
    def __init__(self, settings: Settings, progress: Progress | None = None,
                 assistant: Assistant | None = None, refresh: bool = False):
        self.settings = settings
        self.refresh = refresh  # after loading, bring the index up to date with corpus/ (and swap it in)
        self._progress_cb = progress
        self._assistant = assistant
        self.status = "ready" if assistant else "starting"  # starting | loading | building | ready | failed
        self.error = ""
        self.progress = (0, 0)
        self.started = time.monotonic()
        self.ready_seconds: float | None = 0.0 if assistant else None
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._reload_lock = threading.Lock()

    def start(self) -> None:
        if self._assistant is not None or self._thread is not None:
            return
        self.status = "loading"
        self._thread = threading.Thread(target=self._load, name="pa-load-index", daemon=True)
        self._thread.start()

    def _on_progress(self, done: int, total: int) -> None:
        self.status = "building"
        self.progress = (done, total)
        if self._progress_cb:
            self._progress_cb(done, total)

    def _load(self) -> None:
        try:
            self._assistant = Assistant.from_settings(self.settings, progress=self._on_progress)
            self._assistant.warm_up()
        except AssistantError as exc:
            self.status, self.error = "failed", str(exc)
            log.error("the index could not be loaded: %s", exc)
            return
        except Exception as exc:  # noqa: BLE001 - reported on /readyz, never raised into a request
            self.status, self.error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("the index could not be loaded")
            return
        self.ready_seconds = time.monotonic() - self.started
        self.status = "ready"
        log.info("index ready: %d passages (%.1f s)", self._assistant.info.passages, self.ready_seconds)
        if self.refresh:
            self._refresh()
        if self.settings.index_poll_seconds > 0 and self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="pa-watch-index", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        """Follow the active-index pointer: a build by another process (`docs add` from the CLI, another
        replica, `index`) is loaded here too, without a restart."""
        from retrieval.store import PassageStore, make_client

        store = None
        while True:
            time.sleep(self.settings.index_poll_seconds)
            try:
                store = store or PassageStore(make_client(self.settings), self.settings.collection_prefix)
                active = (store.pointer() or {}).get("active")
                if active and self._assistant is not None and active != self._assistant.info.collection:
                    log.info("the active index changed to %s; loading it", active)
                    self.reload()
            except Exception as exc:  # noqa: BLE001 - keep serving the loaded index; try again later
                log.warning("checking the active index failed: %s", exc)

    def _refresh(self) -> None:
        """Bring the index up to date with corpus/ while the loaded one serves; swap when a new one is built."""
        try:
            report = Assistant.build(self.settings)
            for err in report.errors:
                log.warning("skipped %s", err)
            if report.status == "unchanged":
                return
            fresh = Assistant.from_settings(self.settings, build=False)
            fresh.warm_up()
        except Exception as exc:  # noqa: BLE001 - the loaded index keeps serving
            log.error("refreshing the index from the corpus failed; the loaded index keeps serving: %s", exc)
            return
        self._assistant = fresh
        log.info("index refreshed: %d passages (embedded %d, reused %d)", report.passages, report.embedded,
                 report.reused)

    @property
    def eval_jobs(self):
        """Background evaluation runs (API and UI share them), written under PA_DATA_DIR/evals/."""
        if getattr(self, "_eval_jobs", None) is None:
            from evals.workbench import Jobs

            self._eval_jobs = Jobs(self.settings.data_dir / "evals")
        return self._eval_jobs

    def reload(self) -> None:
        """Load the (new) active index and swap it in; the old one serves until then."""
        with self._reload_lock:
            fresh = Assistant.from_settings(self.settings, build=False, llm=getattr(self._assistant, "llm", None))
            fresh.warm_up()
            self._assistant = fresh
            self.status = "ready"

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status == "ready"

    def get(self) -> Assistant:
        """The loaded assistant, or IndexNotReady naming what is happening instead."""
        if self._assistant is not None and self.status == "ready":
            return self._assistant
        if self.status == "failed":
            raise IndexNotReady(f"the index could not be loaded: {self.error}")
        if self.status == "building":
            done, total = self.progress
            raise IndexNotReady(f"the index is being built ({done}/{total} passages embedded); try again shortly")
        raise IndexNotReady("the index is loading; try again shortly")

    def check_store(self) -> None:
        """In server mode, make sure the Chroma server still answers (raises StoreUnavailable)."""
        if not self.settings.chroma_host or self._assistant is None:
            return
        try:
            self._assistant.searcher.dense.collection.count()
        except Exception as exc:  # noqa: BLE001 - any client failure means the store is unreachable
            raise StoreUnavailable(
                f"the Chroma server at {self.settings.chroma_host}:{self.settings.chroma_port} does not answer: {exc}"
            ) from exc
