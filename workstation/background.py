"""Work done ahead of the reviewer: auditing cases never audited, and warming the next case.

One worker thread per app process takes jobs in the order they were asked for: a page's
not-audited cases (the Worklist), the case after the open one (Review: its audit, decoded
image and rendered view). A case is audited at most once at a time: opening a case whose
audit is running waits for that audit instead of starting a second. Failures are logged and
never reach a page; the page that needs the case audits it itself and shows any error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from data.records import StoredAudit
from data.store import Store
from workstation import services

log = logging.getLogger(__name__)


class Auditor:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cxr-audit-ahead")
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._queued: set[str] = set()

    def _lock(self, case_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(case_id, threading.Lock())

    def ensure(
        self, store: Store, case_id: str, backends: services.Backends | None = None
    ) -> tuple[StoredAudit, bool]:
        """``services.ensure_audited``, once per case at a time across every thread."""
        with self._lock(case_id):
            return services.ensure_audited(store, case_id, backends)

    def audit_ahead(
        self, store: Store, case_ids: Iterable[str], backends: services.Backends | None = None
    ) -> int:
        """Queue the cases for auditing on the worker; returns how many were newly queued."""
        queued = 0
        for case_id in case_ids:
            with self._guard:
                if case_id in self._queued:
                    continue
                self._queued.add(case_id)
            self._pool.submit(self._audit_quietly, store, case_id, backends)
            queued += 1
        return queued

    @property
    def pending(self) -> int:
        """Cases queued and not yet audited."""
        with self._guard:
            return len(self._queued)

    def run_ahead(self, job: Callable[[], object]) -> Future[object]:
        """Run ``job`` on the worker after what is queued (a prefetch); its errors are logged."""
        return self._pool.submit(self._quietly, job)

    def drain(self, timeout_s: float = 60.0) -> None:
        """Wait until everything queued so far is done (before closing the store it uses)."""
        self._pool.submit(lambda: None).result(timeout=timeout_s)

    def _audit_quietly(self, store: Store, case_id: str, backends: services.Backends | None) -> None:
        try:
            self.ensure(store, case_id, backends)
        except Exception:  # the page that opens the case audits it again and shows the error
            log.warning("background audit of %s failed", case_id, exc_info=True)
        finally:
            with self._guard:
                self._queued.discard(case_id)

    @staticmethod
    def _quietly(job: Callable[[], object]) -> object:
        try:
            return job()
        except Exception:  # a prefetch is only a head start; the page does the work when it must
            log.warning("background prefetch failed", exc_info=True)
            return None
