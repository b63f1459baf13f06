"""The assistant behind a server: loaded (or built, on first run) in a background thread, following the
active-index pointer, and probing the vector store. Not HTTP: the API and the UI both use it.

`/healthz` answers while this loads; `/readyz` and every query endpoint answer 503 until it is ready.

While it serves, it holds a lease on the index it reads (`retrieval.storage.leases`, renewed every
lease_seconds / 3): a build in any process keeps that index until this process has switched, and this
process drops the old indexes nobody holds any more (`retrieval.storage.index.collect_garbage`).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from assistant.core import Assistant
from assistant.errors import AssistantError, IndexNotReady, StoreUnavailable
from assistant.settings import Settings
from retrieval.storage.leases import Leases, new_reader_id

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]

STORE_PROBE_TTL = 1.5  # s: /readyz reuses the last store probe this long, so it never hammers the store
STORE_PROBE_TIMEOUT = 3.0  # s: a store that has not answered by then is reported as not answering
STORE_RETRY_SECONDS = 3.0  # s: a Chroma server that is down at startup is tried again this often


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
        self._probe_lock = threading.Lock()
        self._probe: tuple[float, str | None] | None = None  # (monotonic time, problem or None)
        self._probe_thread: threading.Thread | None = None
        self.reader_id = new_reader_id()
        self._stopping = threading.Event()
        self._leases_obj: Leases | None = None
        self.listeners: list[Callable[[Assistant], None]] = []  # told (in a thread) of every index loaded

    def _swapped(self) -> None:
        """Tell the listeners (saved profiles' push) that an index was loaded, in order, off the request."""
        assistant = self._assistant
        if self.listeners and assistant is not None:
            threading.Thread(target=self._tell, args=(assistant,), name="pa-index-listeners", daemon=True).start()

    def _tell(self, assistant: Assistant) -> None:
        for listener in self.listeners:
            try:
                listener(assistant)
            except Exception:  # noqa: BLE001 - a listener never stops serving
                log.exception("an index listener failed")

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
        while True:
            try:
                try:
                    fresh = Assistant.from_settings(self.settings, progress=self._on_progress)
                    fresh.warm_up()
                except Exception as exc:
                    if self.settings.chroma_host and not isinstance(exc, AssistantError) and _transport_error(exc):
                        raise StoreUnavailable(f"{self.store_label()} does not answer "
                                               f"({type(exc).__name__}: {exc})") from exc
                    raise
                self._assistant = fresh
                break
            except StoreUnavailable as exc:
                if not self.settings.chroma_host:
                    self.status, self.error = "failed", str(exc)
                    log.error("the index could not be loaded: %s", exc)
                    return
                # a Chroma server that is down (or not up yet) at startup: keep trying, /readyz says why
                if self.status != "store_unavailable" or self.error != str(exc):
                    log.error("the index could not be loaded: %s; trying again every %.0f s", exc,
                              STORE_RETRY_SECONDS)
                self.status, self.error = "store_unavailable", str(exc)
                time.sleep(STORE_RETRY_SECONDS)
            except AssistantError as exc:
                self.status, self.error = "failed", str(exc)
                log.error("the index could not be loaded: %s", exc)
                return
            except Exception as exc:  # noqa: BLE001 - reported on /readyz, never raised into a request
                self.status, self.error = "failed", f"{type(exc).__name__}: {exc}"
                log.exception("the index could not be loaded")
                return
        self._loaded()

    def _loaded(self) -> None:
        self.error = ""
        self.ready_seconds = time.monotonic() - self.started
        self.status = "ready"
        log.info("index ready: %d passages (%.1f s)", self._assistant.info.passages, self.ready_seconds)
        self._hold_lease()
        self._swapped()
        if self.refresh:
            self._refresh()
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="pa-watch-index", daemon=True)
            self._watcher.start()

    def _leases(self) -> Leases:
        from retrieval.storage.store import open_store

        if self._leases_obj is None:
            self._leases_obj = Leases(open_store(self.settings.store_config()))
        return self._leases_obj

    def _hold_lease(self) -> None:
        """Say (in the store) which index this process serves, so no build drops it under us."""
        if self._assistant is None:
            return
        try:
            self._leases().hold(self.reader_id, self._assistant.info.collection)
        except Exception as exc:  # noqa: BLE001 - renewed on the next tick
            log.warning("could not renew the lease on the index: %s", exc)

    def _watch(self) -> None:
        """Renew the lease; follow the active-index pointer (a build by another process: `docs add` from the
        CLI, another replica, `index`), loaded here too without a restart; drop old indexes nobody holds."""
        from retrieval.storage.index import collect_garbage

        poll = self.settings.index_poll_seconds
        tick = min(poll, self.settings.lease_seconds / 3) if poll > 0 else self.settings.lease_seconds / 3
        last_poll = time.monotonic()
        while not self._stopping.wait(tick):
            self._hold_lease()
            if poll <= 0 or time.monotonic() - last_poll < poll:
                continue
            last_poll = time.monotonic()
            try:
                store = self._leases().store
                active = (store.pointer() or {}).get("active")
                if active and self._assistant is not None and active != self._assistant.info.collection:
                    log.info("the active index changed to %s; loading it", active)
                    self.reload()
                collect_garbage(self.settings.index_config(), store)
            except Exception as exc:  # noqa: BLE001 - keep serving the loaded index; try again later
                log.warning("checking the active index failed: %s", exc)

    def stop(self) -> None:
        """On shutdown: stop watching and give up the lease (it would expire anyway)."""
        self._stopping.set()
        if self._leases_obj is not None:
            self._leases_obj.release(self.reader_id)

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
        self._hold_lease()
        self._swapped()
        log.info("index refreshed: %d passages (embedded %d, reused %d)", report.passages, report.embedded,
                 report.reused)

    def reload(self) -> None:
        """Load the (new) active index and swap it in; the old one serves until then."""
        with self._reload_lock:
            fresh = Assistant.from_settings(self.settings, build=False, llm=getattr(self._assistant, "llm", None))
            fresh.warm_up()
            self._assistant = fresh
            self.status = "ready"
        self._hold_lease()
        self._swapped()

    def reload_soon(self) -> None:
        """Reload in the background (a request found its index gone: the pointer has moved on)."""
        if not self._reload_lock.locked():
            threading.Thread(target=self._reload_quietly, name="pa-reload-index", daemon=True).start()

    def _reload_quietly(self) -> None:
        try:
            self.reload()
        except Exception as exc:  # noqa: BLE001 - the watcher tries again
            log.warning("reloading the index failed: %s", exc)

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
        if self.status == "store_unavailable":  # IndexNotReady: callers (UI) already handle it; 503 in the API
            raise IndexNotReady(f"the index could not be loaded yet: {self.error}; trying again every "
                                f"{STORE_RETRY_SECONDS:.0f} s")
        if self.status == "building":
            done, total = self.progress
            raise IndexNotReady(f"the index is being built ({done}/{total} passages embedded); try again shortly")
        raise IndexNotReady("the index is loading; try again shortly")

    def store_label(self) -> str:
        return self.settings.store_config().label

    def store_address(self) -> str:
        return self.settings.store_config().address

    def store_problem(self, max_age: float = STORE_PROBE_TTL) -> str | None:
        """What is wrong with the vector store, or None when it answers.

        One cheap call (the active collection's count: it proves the store answers AND still holds the
        index), at most one at a time, reused for `max_age` seconds, never waiting more than
        STORE_PROBE_TIMEOUT (a Chroma client call may wait up to retrieval.storage.store.HTTP_TIMEOUT on a hung server)."""
        assistant = self._assistant
        if assistant is None:
            return None
        with self._probe_lock:
            now = time.monotonic()
            if self._probe is not None and now - self._probe[0] < max_age:
                return self._probe[1]
            self._probe = (time.monotonic(), self._run_probe(assistant))
            return self._probe[1]

    def _run_probe(self, assistant: Assistant) -> str | None:
        label = self.store_label()
        if self._probe_thread is not None and self._probe_thread.is_alive():
            return f"{label} has not answered for more than {STORE_PROBE_TIMEOUT:.0f} s"
        outcome: dict[str, BaseException] = {}
        collection = assistant.searcher.dense.collection

        def probe() -> None:
            try:
                collection.count()
            except BaseException as exc:  # noqa: BLE001 - reported, never raised from this thread
                outcome["error"] = exc

        thread = threading.Thread(target=probe, name="pa-store-probe", daemon=True)
        thread.start()
        thread.join(STORE_PROBE_TIMEOUT)
        if thread.is_alive():
            self._probe_thread = thread  # a hung call: do not pile up more threads behind it
            return f"{label} does not answer within {STORE_PROBE_TIMEOUT:.0f} s"
        exc = outcome.get("error")
        if exc is None:
            return None
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        if type(exc).__name__ in {"NotFoundError", "InvalidCollectionException"}:
            return f"{label} answers but no longer holds the active index {collection.name} ({reason})"
        return f"{label} does not answer ({reason})"

    def check_store(self, max_age: float = STORE_PROBE_TTL) -> None:
        """Raise StoreUnavailable (naming the store and the problem) unless the vector store answers."""
        problem = self.store_problem(max_age)
        if problem:
            raise StoreUnavailable(problem)


def _transport_error(exc: BaseException | None) -> bool:
    """A connection failure (refused, reset, timed out) anywhere in the exception chain."""
    import httpx

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
