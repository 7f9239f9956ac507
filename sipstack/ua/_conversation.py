"""A multi-party conversation seen from one :class:`~sipstack.ua.Peer`
(the wire protocol is described in :mod:`sipstack.server`'s focus)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SIPUsageError
from ..message import Response
from ..policy import HISTORY_HEADER
from ..presence import ConferenceInfo, ConferenceUser

if TYPE_CHECKING:
    from ._call import Call
    from ._presence import Subscription

__all__ = ["Conversation"]


class Conversation:
    """A conversation this peer joined with :meth:`Peer.join`.

    ``participants`` is the roster as the focus last reported it; changes
    arrive as :class:`~sipstack.ua.ParticipantJoined` and
    :class:`~sipstack.ua.ParticipantLeft` events, messages as
    :class:`~sipstack.ua.MessageReceived` with ``conversation`` set.
    """

    def __init__(self, uri: str, call: Call) -> None:
        self.uri = uri
        self.call = call
        self._told = False  # the others know this user saves the conversation
        self.roster: ConferenceInfo | None = None
        self.subscription: Subscription | None = None
        self.left = False

    def __repr__(self) -> str:
        return f"Conversation({self.uri}, {len(self.participants)} participants)"

    @property
    def participants(self) -> tuple[ConferenceUser, ...]:
        """Everyone in the conversation (this user included)."""
        return () if self.roster is None else self.roster.users

    async def send(
        self, text: str | bytes, content_type: str = "text/plain;charset=utf-8"
    ) -> Response:
        """Say something to everyone in the conversation.

        With the ``history`` feature on, what is said is saved, and the
        first message is preceded by a notice telling the others so; every
        saved message carries the ``Sipstack-History: saved`` header, which
        the focus passes on.
        """
        if self.left:
            raise SIPUsageError("this conversation was left")
        peer = self.call.peer
        body = text.encode() if isinstance(text, str) else text
        if not peer._saving(content_type):
            return await self.call.message(body, content_type)
        saved = [(HISTORY_HEADER, "saved")]
        if not self._told:
            self._told = True
            await self.call.message(peer._saving_notice(), "text/plain;charset=utf-8", saved)
        response = await self.call.message(body, content_type, saved)
        await peer._remember("out", self.uri, content_type, body, self.uri)
        return response

    async def leave(self) -> None:
        """Leave: stop watching the roster and end the dialog (BYE)."""
        if self.left:
            return
        self.left = True
        if self.subscription is not None:
            await self.subscription.unsubscribe()
        await self.call.hangup()
