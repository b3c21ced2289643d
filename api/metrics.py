"""Request and verdict metrics in the Prometheus text format (``GET /metrics``).

Counters and a latency histogram per route template, and a counter per verdict status;
per process (each uvicorn worker keeps its own; Prometheus sums them by instance).
"""

from __future__ import annotations

import threading
from collections import Counter

__all__ = ["BUCKETS", "Metrics"]

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.latency: dict[tuple[str, str], list[float]] = {}  # bucket counts + sum + count
        self.verdicts: Counter[str] = Counter()

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, path, status)] += 1
            row = self.latency.setdefault((method, path), [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[i] += 1
            row[-2] += seconds
            row[-1] += 1

    def verdict(self, status: str) -> None:
        with self._lock:
            self.verdicts[status] += 1

    def render(self) -> str:
        lines = [
            "# HELP tracemark_requests_total HTTP requests by method, route and status.",
            "# TYPE tracemark_requests_total counter",
        ]
        with self._lock:
            for (method, path, status), count in sorted(self.requests.items()):
                labels = f'method="{method}",route="{path}",status="{status}"'
                lines.append(f"tracemark_requests_total{{{labels}}} {count}")
            lines += [
                "# HELP tracemark_request_seconds Request latency by method and route.",
                "# TYPE tracemark_request_seconds histogram",
            ]
            for (method, path), row in sorted(self.latency.items()):
                labels = f'method="{method}",route="{path}"'
                for i, bound in enumerate(BUCKETS):
                    lines.append(
                        f'tracemark_request_seconds_bucket{{{labels},le="{bound}"}} {int(row[i])}'
                    )
                lines.append(
                    f'tracemark_request_seconds_bucket{{{labels},le="+Inf"}} {int(row[-1])}'
                )
                lines.append(f"tracemark_request_seconds_sum{{{labels}}} {row[-2]:.6f}")
                lines.append(f"tracemark_request_seconds_count{{{labels}}} {int(row[-1])}")
            lines += [
                "# HELP tracemark_verdicts_total Verdicts given, by status.",
                "# TYPE tracemark_verdicts_total counter",
            ]
            for status, count in sorted(self.verdicts.items()):
                lines.append(f'tracemark_verdicts_total{{status="{status}"}} {count}')
        return "\n".join(lines) + "\n"
