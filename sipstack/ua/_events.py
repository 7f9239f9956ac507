"""The typed events a :class:`~sipstack.ua.Peer` delivers, and the errors
its methods raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SIPError
from ..message import Response

if TYPE_CHECKING:
    from ..dialog import Notification
    from ..presence import ConferenceUser, IsComposing, Presence, Watcher
    from ._call import Call
    from ._conversation import Conversation
    from ._presence import Subscription

__all__ = [
    "AuthenticationFailed",
    "CallAnswered",
    "CallEnded",
    "CallFailed",
    "CallProgress",
    "CallUpdated",
    "ComposingChanged",
    "ControlChanged",
    "ConversationEnded",
    "Event",
    "IncomingCall",
    "InfoReceived",
    "MessageReceived",
    "NotifyReceived",
    "ParticipantJoined",
    "ParticipantLeft",
    "PresenceChanged",
    "Registered",
    "RegistrationFailed",
    "RequestFailed",
    "SubscriptionEnded",
    "Unregistered",
    "WatchersChanged",
]


class RequestFailed(SIPError):
    """A request got a final response of 300 or more (or none: a local 408
    or 503).  ``status`` and ``reason`` are that response's; ``response``
    is the response itself (its Retry-After, Warning …)."""

    def __init__(
        self,
        method: str,
        status: int,
        reason: str,
        detail: str = "",
        response: Response | None = None,
    ) -> None:
        text = f"{method} failed: {status} {reason}"
        super().__init__(f"{text} ({detail})" if detail else text)
        self.method = method
        self.status = status
        self.reason = reason
        self.response = response


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
    #: The conversation it was said in (``sender`` is who said it).
    conversation: Conversation | None = None
    #: The sender keeps a history of this conversation (it said so with a
    #: ``Sipstack-History: saved`` header).
    saved: bool = False

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


@dataclass(frozen=True, slots=True)
class ComposingChanged:
    """The other side started or stopped typing (RFC 3994); ``call`` when
    it came inside a call's dialog."""

    sender: str
    composing: IsComposing
    call: Call | None = None

    @property
    def active(self) -> bool:
        """Whether the sender is typing."""
        return self.composing.state == "active"


@dataclass(frozen=True, slots=True)
class ControlChanged:
    """In a desktop-sharing call, the other side granted this side control
    of its desktop (``granted``) or took it back."""

    call: Call
    granted: bool


@dataclass(frozen=True, slots=True)
class ParticipantJoined:
    """Someone joined a conversation this peer is in (on joining, one event
    for everyone already there)."""

    conversation: Conversation
    participant: ConferenceUser


@dataclass(frozen=True, slots=True)
class ParticipantLeft:
    """Someone left a conversation this peer is in."""

    conversation: Conversation
    participant: ConferenceUser


@dataclass(frozen=True, slots=True)
class ConversationEnded:
    """This peer is out of a conversation: it left (``by_remote`` false) or
    the focus ended its part."""

    conversation: Conversation
    reason: str
    by_remote: bool


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """A watched contact's presence changed (or its first state arrived):
    ``presence`` is what this watcher may see of it."""

    subscription: Subscription
    uri: str
    presence: Presence


@dataclass(frozen=True, slots=True)
class WatchersChanged:
    """Who watches this user changed (watcher-info from the server, or the
    peer's own watchers when it serves its presence itself)."""

    watchers: tuple[Watcher, ...]


@dataclass(frozen=True, slots=True)
class NotifyReceived:
    """A NOTIFY for a subscription to an event package other than presence
    and watcher-info."""

    subscription: Subscription
    notification: Notification


@dataclass(frozen=True, slots=True)
class SubscriptionEnded:
    """A subscription ended: ``reason`` from the notifier (``deactivated``,
    ``timeout``, ``rejected``, ``noresource``, ``probation``, ``giveup``) or
    ``unsubscribed``; ``retry_after`` when the notifier gave one."""

    subscription: Subscription
    reason: str
    retry_after: int | None


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
    | ComposingChanged
    | ControlChanged
    | ParticipantJoined
    | ParticipantLeft
    | ConversationEnded
    | PresenceChanged
    | WatchersChanged
    | NotifyReceived
    | SubscriptionEnded
)
