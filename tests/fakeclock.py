"""Driving sans-I/O transactions with a fake clock in tests."""

from __future__ import annotations

from typing import Any


def run_timers(tx: Any, until: float) -> list[tuple[float, Any]]:
    """Fire ``tx``'s timers one deadline at a time up to ``until``; returns
    (time, event) pairs."""
    fired = []
    while tx.next_deadline is not None and tx.next_deadline <= until:
        now = tx.next_deadline
        fired += [(now, e) for e in tx.handle_timer(now)]
    return fired
