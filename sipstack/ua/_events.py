"""The typed events a :class:`~sipstack.ua.Peer` delivers, and the errors
its methods raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SIPError

if TYPE_CHECKING:
    from ._call import Call

__all__ = [
    "AuthenticationFailed",
    "CallAnswered",
    "CallEnded",
    "CallFailed",
    "CallProgress",
    "CallUpdated",
    "Event",
    "IncomingCall",
    "InfoReceived",
    "MessageReceived",
    "Registered",
    "RegistrationFailed",
    "RequestFailed",
    "Unregistered",
]


class RequestFailed(SIPError):
    """A request got a final response of 300 or more (or none: a local 408
    or 503).  ``status`` and ``reason`` are that response's."""

    def __init__(self, method: str, status: int, reason: str, detail: str = "") -> None:
        text = f"{method} failed: {status} {reason}"
        super().__init__(f"{text} ({detail})" if detail else text)
        self.method = method
        self.status = status
        self.reason = reason


class AuthenticationFailed(RequestFailed):
    """The server refused the credentials (wrong user name or password, or
    none for its realm)."""


class CallFailed(RequestFailed):
    """An INVITE was rejected, cancelled or went unanswered."""


@dataclass(frozen=True, slots=True)
class Registered:
    """A REGISTER succeeded: ``expires`` seconds granted for ``contact``."""

    aor: str
    contact: str
    expires: int


@dataclass(frozen=True, slots=True)
class RegistrationFailed:
    """A REGISTER (first or refresh) failed; another try comes after
    ``retry_in`` seconds."""

    aor: str
    status: int
    reason: str
    retry_in: float


@dataclass(frozen=True, slots=True)
class Unregistered:
    """The binding was removed (on close or on request)."""

    aor: str


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """An instant message (RFC 3428).  It was answered 200 before this
    event was delivered."""

    sender: str
    display_name: str | None
    recipient: str
    content_type: str
    body: bytes
    call_id: str
    call: Call | None = None

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """An INVITE arrived: answer with ``await event.call.accept(sdp)`` or
    ``await event.call.reject(486)``.  180 Ringing was already sent."""

    call: Call


@dataclass(frozen=True, slots=True)
class CallProgress:
    """A provisional response (180, 183 …) to an outgoing call."""

    call: Call
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """An outgoing call was answered (the ACK was sent) or an incoming one
    was confirmed by the caller's ACK."""

    call: Call


@dataclass(frozen=True, slots=True)
class CallUpdated:
    """The other side changed the session (re-INVITE): see
    ``call.remote_sdp``."""

    call: Call


@dataclass(frozen=True, slots=True)
class CallEnded:
    """A call ended.  ``reason`` is one of ``"bye"``, ``"cancelled"``,
    ``"rejected"``, ``"failed"``, ``"no-ack"``, ``"closed"``; ``by_remote``
    says who ended it; ``status`` is the final response when one ended
    it."""

    call: Call
    reason: str
    by_remote: bool
    status: int | None = None


@dataclass(frozen=True, slots=True)
class InfoReceived:
    """An INFO request inside a call (RFC 6086)."""

    call: Call
    content_type: str
    body: bytes


Event = (
    Registered
    | RegistrationFailed
    | Unregistered
    | MessageReceived
    | IncomingCall
    | CallProgress
    | CallAnswered
    | CallUpdated
    | CallEnded
    | InfoReceived
)
