"""The call log (on by default; a user may turn it off unless the
administrator locked it): for each call, start, answer and end time,
duration, the other side, direction and outcome — never its content."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..storage import CallRecord, SQLiteStore
from ._base import Interceptor

__all__ = ["CallLog", "outcome_of"]

log = logging.getLogger("sipstack.interceptors")


def outcome_of(reason: str, answered: bool, by_remote: bool, outgoing: bool) -> str:
    """How a call ended, in the words of a call list: ``answered``,
    ``missed`` (an incoming call nobody took), ``declined``, ``cancelled``,
    ``busy`` / ``failed``."""
    if answered:
        return "answered"
    if reason == "cancelled":
        return "cancelled" if outgoing else "missed"
    if reason == "rejected":
        return "declined"
    if reason == "failed" and not outgoing:
        return "missed"
    return "failed"


class CallLog(Interceptor):
    """Records every ended call into ``store`` while ``enabled()``."""

    points = ()

    def __init__(self, store: SQLiteStore, *, enabled: Callable[[], bool] = lambda: True) -> None:
        self.store = store
        self.enabled = enabled
        self._tasks: set[asyncio.Task[None]] = set()

    def on_event(self, event: object) -> None:
        """A ``CallEnded`` becomes a record (written in the background)."""
        if type(event).__name__ != "CallEnded" or not self.enabled():
            return
        call = getattr(event, "call", None)
        if call is None:
            return
        answered = call.answered_at
        record = CallRecord(
            started=call.started_at,
            ended=call.ended_at or call.started_at,
            answered=answered,
            direction="outgoing" if call.outgoing else "incoming",
            remote=call.remote,
            outcome=outcome_of(
                getattr(event, "reason", ""),
                answered is not None,
                bool(getattr(event, "by_remote", False)),
                call.outgoing,
            ),
        )
        task = asyncio.ensure_future(self._write(record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, record: CallRecord) -> None:
        try:
            await self.store.call_log.add(record)
        except Exception:
            log.exception("could not write the call log")

    async def flush(self) -> None:
        """Wait for the records being written."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
