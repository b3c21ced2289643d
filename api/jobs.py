"""Background jobs with progress: a bounded worker pool and job records a route can poll.

Large print sheets (and other slow work a console starts) run here rather than in the
request: a route calls ``runner.submit(kind, work, total=n, owner=actor)`` and returns the
job id at once; the page polls ``runner.get(job_id, owner=actor)`` for ``state``, ``done``
out of ``total`` and, when ``done``, the ``result`` (or the ``error``). The CLI runs the
same work through a runner and draws the progress with rich.

    queued -> running -> done | failed

Bounds, all ``JobLimits``: at most ``workers`` jobs run at once (a thread pool); at most
``max_pending`` are queued or running (``submit`` refuses with ``LimitExceeded``, which a
route maps to 429/503); finished jobs keep their result for ``keep_ms`` and then are
forgotten; at most ``max_records`` records are kept; a result above ``max_result_bytes``
fails the job instead of being kept. Job ids are 128-bit random (unguessable); ``get`` with
an ``owner`` answers only that owner's jobs (another actor's id is ``NotFound``, the same
answer as an unknown id).

A ``TracemarkError`` raised by the work is the job's error (its message is safe to show);
any other exception is logged here and reported as ``internal error`` (no traceback leaves
the process). Work reports progress through the ``Progress`` it is given: ``advance(n)``;
``done`` never goes backwards and never passes ``total``.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from ledger.errors import LimitExceeded, NotFound, TracemarkError

__all__ = [
    "DONE",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "JobLimits",
    "JobRunner",
    "JobView",
    "Progress",
]

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
_FINISHED = (DONE, FAILED)

log = logging.getLogger("tracemark.jobs")


@dataclass(frozen=True, slots=True)
class JobLimits:
    workers: int = 2
    max_pending: int = 16
    max_records: int = 256
    keep_ms: int = 60 * 60 * 1000
    max_result_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.workers < 1 or self.max_pending < self.workers or self.max_records < 1:
            raise ValueError("workers >= 1, max_pending >= workers, max_records >= 1")


@dataclass(frozen=True, slots=True)
class JobView:
    """A snapshot of one job: what a poll returns."""

    job_id: str
    kind: str
    owner: str
    state: str
    done: int
    total: int
    created: int  # ms
    finished: int  # ms, 0 until done or failed
    error: str = ""
    result: Any = None

    @property
    def finished_ok(self) -> bool:
        return self.state == DONE

    def to_obj(self) -> dict[str, Any]:
        """The poll's JSON (without the result, which a route serves on its own)."""
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "error": self.error or None,
        }


class Progress:
    """What the work reports through: ``advance(n)`` (thread-safe, bounded by total)."""

    def __init__(self, runner: JobRunner, job_id: str) -> None:
        self._runner = runner
        self._job_id = job_id

    def advance(self, n: int = 1) -> None:
        self._runner._advance(self._job_id, n)


class JobRunner:
    """A bounded pool of background jobs with records that can be polled."""

    def __init__(
        self,
        limits: JobLimits = JobLimits(),
        *,
        clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, JobView] = {}
        self._changed = threading.Condition(self._lock)
        self._pool = ThreadPoolExecutor(limits.workers, thread_name_prefix="tracemark-job")
        self._closed = False

    # --- the interface --------------------------------------------------------------------

    def submit(
        self, kind: str, work: Callable[[Progress], Any], *, total: int, owner: str = ""
    ) -> str:
        """Queue ``work(progress)``; returns the job id. Refuses (LimitExceeded) when
        ``max_pending`` jobs are queued or running, or the records are full."""
        if total < 0:
            raise ValueError("total must be >= 0")
        with self._lock:
            if self._closed:
                raise LimitExceeded("the job runner is shut down")
            self._prune()
            pending = sum(1 for j in self._jobs.values() if j.state not in _FINISHED)
            if pending >= self.limits.max_pending:
                raise LimitExceeded(
                    f"{pending} jobs are waiting or running; try again when one is done"
                )
            if len(self._jobs) >= self.limits.max_records:
                raise LimitExceeded("too many finished jobs are kept; try again later")
            job_id = secrets.token_urlsafe(16)
            self._jobs[job_id] = JobView(job_id, kind, owner, QUEUED, 0, total, self._clock(), 0)
        self._pool.submit(self._run, job_id, work)
        return job_id

    def get(self, job_id: str, *, owner: str | None = None) -> JobView:
        """The job's snapshot; NotFound for an unknown, forgotten or another owner's job."""
        with self._lock:
            self._prune()
            job = self._jobs.get(job_id)
        if job is None or (owner is not None and not secrets.compare_digest(job.owner, owner)):
            raise NotFound("no such job (finished jobs are kept for a limited time)")
        return job

    def wait(self, job_id: str, *, timeout: float | None = None) -> JobView:
        """Block until the job is done or failed (or ``timeout`` seconds); its snapshot."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                job = self._jobs.get(job_id)
                if job is None:
                    raise NotFound("no such job")
                if job.state in _FINISHED:
                    return job
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return job
                self._changed.wait(left)

    def jobs(self, *, owner: str | None = None) -> list[JobView]:
        """Every kept job (of ``owner``), oldest first."""
        with self._lock:
            self._prune()
            found = list(self._jobs.values())
        return [j for j in found if owner is None or j.owner == owner]

    def shutdown(self, *, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=True)

    # --- inside ---------------------------------------------------------------------------

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._changed:
            job = self._jobs.get(job_id)
            if job is not None:
                self._jobs[job_id] = replace(job, **changes)
                self._changed.notify_all()

    def _advance(self, job_id: str, n: int) -> None:
        if n <= 0:
            return
        with self._changed:
            job = self._jobs.get(job_id)
            if job is not None and job.state == RUNNING:
                self._jobs[job_id] = replace(job, done=min(job.total, job.done + n))
                self._changed.notify_all()

    def _run(self, job_id: str, work: Callable[[Progress], Any]) -> None:
        self._update(job_id, state=RUNNING)
        try:
            result = work(Progress(self, job_id))
        except TracemarkError as exc:
            self._update(job_id, state=FAILED, error=exc.message, finished=self._clock())
            return
        except Exception:
            log.exception("job %s failed", job_id)
            self._update(job_id, state=FAILED, error="internal error", finished=self._clock())
            return
        size = len(result) if isinstance(result, bytes | bytearray | str) else 0
        if size > self.limits.max_result_bytes:
            self._update(
                job_id,
                state=FAILED,
                error=f"the result is larger than {self.limits.max_result_bytes} bytes",
                finished=self._clock(),
            )
            return
        with self._changed:
            job = self._jobs.get(job_id)
            if job is not None:
                self._jobs[job_id] = replace(
                    job, state=DONE, done=job.total, result=result, finished=self._clock()
                )
                self._changed.notify_all()

    def _prune(self) -> None:
        """Forget finished jobs older than ``keep_ms`` (the lock is held)."""
        cutoff = self._clock() - self.limits.keep_ms
        for job_id in [
            k for k, j in self._jobs.items() if j.state in _FINISHED and j.finished < cutoff
        ]:
            del self._jobs[job_id]
