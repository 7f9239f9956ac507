"""A session (INVITE dialog) seen from one :class:`~sipstack.ua.Peer`."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..dialog import Dialog, DialogState
from ..errors import SIPUsageError
from ..message import Request, Response
from ._events import CallFailed

if TYPE_CHECKING:
    from ..endpoint import IncomingRequest
    from ._conversation import Conversation
    from ._peer import Peer

__all__ = ["CONTROL_CONTENT_TYPE", "CONTROL_PACKAGE", "Call", "CallState"]

SDP = "application/sdp"

#: Desktop-sharing control travels in INFO requests (RFC 6086) of this Info
#: Package, with this content type and a one-line body: ``grant`` (the
#: receiver may now control the sender's shared desktop) or ``revoke``.
CONTROL_PACKAGE = "sipstack-control"
CONTROL_CONTENT_TYPE = "application/x-sipstack-control"
CONTROL_VERBS = {b"grant": True, b"revoke": False}


class CallState(enum.Enum):
    """Where a call is."""

    RINGING = "ringing"  # offered, not answered yet
    ANSWERED = "answered"  # 2xx sent or received, ACK pending (incoming)
    ACTIVE = "active"  # confirmed
    ENDED = "ended"


class Call:
    """One call.  Outgoing calls come from :meth:`Peer.call`; incoming ones
    arrive in :class:`~sipstack.ua.IncomingCall` events.

    ``local_sdp`` / ``remote_sdp`` are the session descriptions as bytes
    (offer/answer is the application's; :mod:`sipstack.sdp` helps).
    """

    def __init__(
        self,
        peer: Peer,
        *,
        outgoing: bool,
        remote: str,
        call_id: str,
        local_sdp: bytes = b"",
        remote_sdp: bytes = b"",
    ) -> None:
        self.peer = peer
        self.outgoing = outgoing
        self.remote = remote
        self.call_id = call_id
        self.local_sdp = local_sdp
        self.remote_sdp = remote_sdp
        self.state = CallState.RINGING
        #: Wall-clock times: offered, answered (None if never), ended.
        self.started_at = time.time()
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.dialog: Dialog | None = None
        #: Set when the call has ended.
        self.ended = asyncio.Event()
        self._incoming: IncomingRequest | None = None
        self._invite: Request | None = None  # as last sent (with its Via)
        self._sending: asyncio.Future[Response] | None = None
        self._progress = asyncio.Event()  # a provisional response came
        self._ack: Request | None = None
        self._confirmed = asyncio.Event()
        self._busy = False  # a re-INVITE of ours is in progress (491 on glare)
        #: Set when this INVITE dialog carries a conversation, not a call:
        #: its events are conversation events.
        self.conversation: Conversation | None = None

    def __repr__(self) -> str:
        side = "to" if self.outgoing else "from"
        return f"Call({side} {self.remote}, {self.state.value})"

    # -- incoming calls -------------------------------------------------------------
    async def accept(self, sdp: bytes = b"", *, wait_ack: float | None = 32.0) -> None:
        """Answer an incoming call 200 OK with ``sdp``; returns when the
        caller's ACK arrives (or after ``wait_ack`` seconds: the 2xx is
        retransmitted meanwhile, §13.3.1.4).  None waits no ACK."""
        incoming = self._pending_incoming()
        self.local_sdp = sdp
        incoming.respond(
            200,
            headers=[("Contact", self.peer._contact_for(incoming.flow.transport))],
            body=sdp,
            content_type=SDP if sdp else None,
        )
        self._incoming = None
        self.state = CallState.ANSWERED
        if self.dialog is not None:
            self.dialog.state = DialogState.CONFIRMED
        if wait_ack is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._confirmed.wait(), wait_ack)

    async def progress(self, status: int = 183, sdp: bytes = b"") -> None:
        """Send a provisional response to an incoming call: 183 Session
        Progress with an early-media answer, or another 18x."""
        if not 100 < status < 200:
            raise SIPUsageError("a provisional response is 101-199")
        incoming = self._pending_incoming()
        if sdp:
            self.local_sdp = sdp
        incoming.respond(
            status,
            headers=[("Contact", self.peer._contact_for(incoming.flow.transport))],
            body=sdp,
            content_type=SDP if sdp else None,
        )

    async def reject(self, status: int = 486, reason: str | None = None) -> None:
        """Refuse an incoming call (486 Busy Here, 603 Decline …)."""
        if not 300 <= status < 700:
            raise SIPUsageError("a rejection is a 3xx-6xx status")
        incoming = self._pending_incoming()
        incoming.respond(status, reason)
        self._incoming = None
        self.peer._call_over(self, "rejected", by_remote=False, status=status)

    def _pending_incoming(self) -> IncomingRequest:
        incoming = self._incoming
        if incoming is None or incoming.answered or self.state is not CallState.RINGING:
            raise SIPUsageError(f"{self!r} is not waiting for an answer")
        return incoming

    # -- in the call --------------------------------------------------------------------
    async def hangup(self) -> None:
        """End the call: BYE when it was answered, CANCEL while an outgoing
        call rings, 603 for an incoming call not yet answered."""
        if self.state is CallState.ENDED:
            return
        if self.state is CallState.RINGING:
            if self.outgoing:
                await self.peer._cancel_call(self)
            else:
                await self.reject(603)
            return
        dialog = self.dialog
        assert dialog is not None
        bye = self.peer._in_dialog(dialog, "BYE")
        self.peer._call_over(self, "bye", by_remote=False)
        await self.peer._send(bye, dialog=dialog)

    async def update(self, sdp: bytes) -> Response:
        """Send a re-INVITE with a new offer (hold, resume, new media);
        returns its 2xx (``remote_sdp`` is updated) or raises
        :class:`CallFailed` (the call goes on unchanged, §14.1)."""
        dialog = self._active_dialog()
        if self._busy:
            raise SIPUsageError("a re-INVITE is already in progress")
        self._busy = True
        try:
            invite = self.peer._in_dialog(
                dialog, "INVITE", body=sdp, content_type=SDP if sdp else None, contact=True
            )
            response = await self.peer._send(invite, dialog=dialog)
            if 200 <= response.status < 300:
                await self.peer._ack_2xx(self, invite, response)
                self.local_sdp = sdp
                if response.body:
                    self.remote_sdp = response.body
                return response
            raise CallFailed("INVITE", response.status, response.reason, response=response)
        finally:
            self._busy = False

    async def info(self, body: bytes, content_type: str) -> Response:
        """Send an INFO inside the call (RFC 6086); raises on failure."""
        dialog = self._active_dialog()
        req = self.peer._in_dialog(dialog, "INFO", body=body, content_type=content_type)
        return self.peer._check(await self.peer._send(req, dialog=dialog))

    async def grant_control(self) -> Response:
        """Let the other side control this side's shared desktop."""
        return await self._control(b"grant")

    async def revoke_control(self) -> Response:
        """Take control of the shared desktop back."""
        return await self._control(b"revoke")

    async def _control(self, verb: bytes) -> Response:
        dialog = self._active_dialog()
        req = self.peer._in_dialog(
            dialog,
            "INFO",
            body=verb + b"\r\n",
            content_type=CONTROL_CONTENT_TYPE,
            headers=[("Info-Package", CONTROL_PACKAGE)],
        )
        return self.peer._check(await self.peer._send(req, dialog=dialog))

    async def typing(self, active: bool = True) -> Response:
        """Tell the other side this side is typing (RFC 3994) in the call."""
        dialog = self._active_dialog()
        body, ctype = self.peer._composing_body(active)
        req = self.peer._in_dialog(dialog, "MESSAGE", body=body, content_type=ctype)
        return self.peer._check(await self.peer._send(req, dialog=dialog))

    async def message(
        self,
        text: str | bytes,
        content_type: str = "text/plain",
        headers: Iterable[tuple[str, str]] = (),
    ) -> Response:
        """Send an instant message inside the call's dialog (with extra
        ``headers``)."""
        dialog = self._active_dialog()
        body = text.encode() if isinstance(text, str) else text
        req = self.peer._in_dialog(
            dialog, "MESSAGE", body=body, content_type=content_type, headers=headers
        )
        return self.peer._check(await self.peer._send(req, dialog=dialog))

    def _active_dialog(self) -> Dialog:
        if self.state not in (CallState.ACTIVE, CallState.ANSWERED) or self.dialog is None:
            raise SIPUsageError(f"{self!r} is not in progress")
        return self.dialog

    def _end(self) -> None:
        self.ended_at = time.time()
        self.state = CallState.ENDED
        if self.dialog is not None:
            self.dialog.terminate()
        self.ended.set()
        self._confirmed.set()
