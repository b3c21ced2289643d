"""The background job runner (api/jobs.py): progress only goes forward, failures are
reported (safely), the pool and the records are bounded, results expire, owners are kept
apart."""

from __future__ import annotations

import threading
import time

import pytest

from api.jobs import DONE, FAILED, QUEUED, JobLimits, JobRunner, Progress
from ledger.errors import InvalidInput, LimitExceeded, NotFound


@pytest.fixture
def runner() -> JobRunner:
    r = JobRunner(JobLimits(workers=2, max_pending=4, max_records=8))
    yield r  # type: ignore[misc]
    r.shutdown()


def test_progress_is_monotone_and_ends_at_total(runner: JobRunner) -> None:
    gate = threading.Event()
    steps = threading.Semaphore(0)

    def work(progress: Progress) -> bytes:
        for _ in range(10):
            gate.wait(5)
            progress.advance(3)  # 30 > total: clamped
            steps.release()
        progress.advance(-5)  # never backwards
        return b"result"

    job_id = runner.submit("sheet", work, total=20, owner="fishco")
    seen = [runner.get(job_id).done]
    gate.set()
    while (job := runner.get(job_id)).state != DONE:
        seen.append(job.done)
        time.sleep(0.001)
    seen.append(job.done)
    assert seen == sorted(seen) and max(seen) == 20
    assert job.result == b"result" and job.finished >= job.created and job.error == ""
    assert job.to_obj() == {
        "job_id": job_id, "kind": "sheet", "state": "done", "done": 20, "total": 20,
        "error": None,
    }  # fmt: skip


def test_failures_are_reported_without_internals(runner: JobRunner) -> None:
    def bad_input(progress: Progress) -> None:
        progress.advance(1)
        raise InvalidInput("code 6 is not printable")

    def bug(progress: Progress) -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    first = runner.wait(runner.submit("sheet", bad_input, total=5))
    assert first.state == FAILED and first.error == "code 6 is not printable"
    assert first.result is None
    second = runner.wait(runner.submit("sheet", bug, total=5))
    assert second.state == FAILED and second.error == "internal error"
    assert "secret" not in repr(second.to_obj())


def test_concurrency_is_bounded_and_the_queue_refuses_beyond_max_pending() -> None:
    runner = JobRunner(JobLimits(workers=2, max_pending=3, max_records=10))
    lock = threading.Lock()
    running = 0
    peak = 0
    release = threading.Event()

    def work(progress: Progress) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(5)
        with lock:
            running -= 1
        return 1

    try:
        ids = [runner.submit("sheet", work, total=1) for _ in range(3)]
        with pytest.raises(LimitExceeded, match="waiting or running"):
            runner.submit("sheet", work, total=1)
        time.sleep(0.1)
        states = [runner.get(i).state for i in ids]
        assert states.count(QUEUED) == 1  # two workers, the third waits
        release.set()
        assert all(runner.wait(i, timeout=5).state == DONE for i in ids)
        assert peak == 2
        runner.wait(runner.submit("sheet", work, total=1), timeout=5)  # room again
    finally:
        runner.shutdown()


def test_results_are_kept_for_a_bounded_time_and_count() -> None:
    now = [1_000_000]
    runner = JobRunner(JobLimits(workers=1, max_pending=1, max_records=2, keep_ms=1_000),
                       clock=lambda: now[0])  # fmt: skip
    try:
        a = runner.wait(runner.submit("sheet", lambda p: b"a", total=1)).job_id
        b = runner.wait(runner.submit("sheet", lambda p: b"b", total=1)).job_id
        with pytest.raises(LimitExceeded, match="finished jobs"):
            runner.submit("sheet", lambda p: b"c", total=1)
        now[0] += 1_001
        with pytest.raises(NotFound):
            runner.get(a)
        with pytest.raises(NotFound):
            runner.get(b)
        assert runner.wait(runner.submit("sheet", lambda p: b"c", total=1)).result == b"c"
    finally:
        runner.shutdown()


def test_a_result_too_large_fails_the_job() -> None:
    runner = JobRunner(JobLimits(workers=1, max_pending=1, max_result_bytes=10))
    try:
        job = runner.wait(runner.submit("sheet", lambda p: b"x" * 11, total=1))
        assert job.state == FAILED and "larger than 10 bytes" in job.error and job.result is None
    finally:
        runner.shutdown()


def test_owners_see_only_their_jobs(runner: JobRunner) -> None:
    job_id = runner.submit("sheet", lambda p: b"ok", total=1, owner="fishco")
    runner.wait(job_id)
    assert runner.get(job_id, owner="fishco").result == b"ok"
    with pytest.raises(NotFound):
        runner.get(job_id, owner="ricecorp")
    with pytest.raises(NotFound):
        runner.get("no-such-job")
    assert [j.job_id for j in runner.jobs(owner="fishco")] == [job_id]
    assert runner.jobs(owner="ricecorp") == []
    assert len(job_id) >= 22  # 128 random bits


def test_bad_limits_and_shutdown() -> None:
    with pytest.raises(ValueError):
        JobLimits(workers=0)
    with pytest.raises(ValueError):
        JobLimits(workers=4, max_pending=2)
    runner = JobRunner()
    runner.shutdown()
    with pytest.raises(LimitExceeded):
        runner.submit("sheet", lambda p: None, total=1)
