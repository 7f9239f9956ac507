"""Usage statistics (off by default, opt-in): counts of requests and
responses by method and status, errors by status and kind, a latency
histogram per method — and nothing that names anyone: no URIs, users,
hosts, addresses or contact information."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ..endpoint import KNOWN_METHODS, MessageInfo, Verdict
from ..message import Request, Response
from ._base import Interceptor

__all__ = ["LATENCY_BUCKETS_MS", "Statistics"]

#: Upper bounds of the latency histogram's buckets, in milliseconds.
LATENCY_BUCKETS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 10000)
# Requests waiting for their answer, by branch (a random token, never
# exported); bounded against a peer that never answers.
_MAX_PENDING = 10_000


def _method(name: str) -> str:
    # An extension method is user-chosen text: it is counted, not named.
    return name if name in KNOWN_METHODS else "other"


class Statistics(Interceptor):
    """Counts while ``enabled()``; :meth:`snapshot` is what may leave."""

    def __init__(self, *, enabled: Callable[[], bool] = lambda: True) -> None:
        self.enabled = enabled
        self.counts: Counter[str] = Counter()
        self.latency: dict[str, list[int]] = {}
        self._pending: dict[str, tuple[str, float]] = {}

    def on_message(self, message: Request | Response, info: MessageInfo) -> Verdict:
        """Count the message (and time a request against its answer)."""
        if not self.enabled():
            return None
        again = ".retransmission" if info.retransmission else ""
        try:
            branch = message.top_via.branch or ""
        except Exception:
            branch = ""
        if isinstance(message, Request):
            method = _method(message.method)
            self.counts[f"requests.{info.direction}.{method}{again}"] += 1
            if info.direction == "out" and branch and not info.retransmission:
                if len(self._pending) >= _MAX_PENDING:
                    self._pending.clear()
                self._pending[branch] = (method, info.time)
            return None
        status = message.status
        self.counts[f"responses.{info.direction}.{status}{again}"] += 1
        if status >= 400:
            self.counts[f"errors.{status // 100}xx"] += 1
        if info.direction == "in" and status >= 200:
            sent = self._pending.pop(branch, None)
            if sent is not None:
                self._observe(sent[0], (info.time - sent[1]) * 1000)
        return None

    def on_event(self, event: object) -> None:
        """Count registrations, messages and calls (events, no names)."""
        if self.enabled():
            self.counts[f"events.{type(event).__name__}"] += 1

    def _observe(self, method: str, ms: float) -> None:
        buckets = self.latency.setdefault(method, [0] * (len(LATENCY_BUCKETS_MS) + 1))
        for i, bound in enumerate(LATENCY_BUCKETS_MS):
            if ms <= bound:
                buckets[i] += 1
                return
        buckets[-1] += 1

    def snapshot(self) -> dict[str, object]:
        """Counters and histograms: numbers keyed by method, status and
        event kind only."""
        return {
            "counts": dict(sorted(self.counts.items())),
            "latency_ms": {
                "buckets": list(LATENCY_BUCKETS_MS),
                "by_method": {m: list(v) for m, v in sorted(self.latency.items())},
            },
        }

    def save(self, path: str | Path) -> None:
        """Write :meth:`snapshot` as JSON (the opted-in export)."""
        Path(path).write_text(json.dumps(self.snapshot(), indent=1), encoding="utf-8")
