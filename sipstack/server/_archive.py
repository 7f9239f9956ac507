"""The server archive: instant messages (with their content), conversation
starts, joins and leaves, and sign-ins and sign-outs — only while the
administrator has archiving on (``archive`` in the policy; off by default,
no user can turn it on).

A MESSAGE is archived before it goes on, so the 200 its sender gets comes
after the record is committed.  When archiving is *mandatory*, a MESSAGE
that cannot be archived is refused (503) rather than delivered unrecorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ..endpoint import IncomingRequest
from ..policy import Feature, Policy
from ..storage import ArchiveRecord, Store

__all__ = ["ServerArchive"]

log = logging.getLogger("sipstack.server")


class ServerArchive:
    """Writes archive records to ``store`` while ``policy`` has archiving
    on; ``mandatory`` refuses what cannot be recorded."""

    def __init__(
        self,
        store: Store,
        policy: Policy,
        *,
        mandatory: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.policy = policy
        self.mandatory = mandatory
        self.clock = clock
        self.failures = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def active(self) -> bool:
        """Whether archiving is on (the administrator's decision)."""
        return self.policy.effective(Feature.ARCHIVE)

    async def message(self, incoming: IncomingRequest, conversation: str | None = None) -> bool:
        """Archive a MESSAGE before it is passed on; False when it could not
        be written (the caller refuses it when archiving is mandatory)."""
        request = incoming.request
        record = ArchiveRecord(
            time=self.clock(),
            kind="message",
            sender=str(request.from_addr.uri),
            recipient=str(request.to_addr.uri),
            call_id=request.call_id,
            content_type=request.headers.get("Content-Type"),
            body=request.body,
            conversation=conversation,
        )
        try:
            await self.store.archive.append(record)
        except Exception:
            self.failures += 1
            log.exception("could not archive a MESSAGE from %s", record.sender)
            return False
        return True

    def event(self, kind: str, subject: str, other: str, conversation: str | None = None) -> None:
        """A usage record (``sign-in``, ``sign-out``) or a conversation
        record (``conversation-start``, ``join``, ``leave``), written in the
        background."""
        if not self.active:
            return
        record = ArchiveRecord(
            time=self.clock(), kind=kind, sender=subject, recipient=other,
            conversation=conversation,
        )  # fmt: skip
        task = asyncio.ensure_future(self._append(record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _append(self, record: ArchiveRecord) -> None:
        try:
            await self.store.archive.append(record)
        except Exception:
            self.failures += 1
            log.exception("could not archive a %s record", record.kind)

    async def drain(self) -> None:
        """Wait for background records (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
