"""What the server stores, as plain records, and the repository interfaces
a backend implements (SQLite here; PostgreSQL can follow without touching
the server logic)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..dialog import Dialog, DialogState, Notifier
from ..message import parse_address, parse_uri

__all__ = [
    "Access",
    "Account",
    "Accounts",
    "Archive",
    "ArchiveRecord",
    "Binding",
    "CallRecord",
    "ConversationRecord",
    "Conversations",
    "DialogKey",
    "DialogRecord",
    "HistoryEntry",
    "ParticipantRecord",
    "Publication",
    "Publications",
    "Registrations",
    "Store",
    "SubscriptionRecord",
    "Subscriptions",
]

#: A dialog's id as its owner sees it: (Call-ID, local tag, remote tag).
DialogKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Account:
    """A user of the server.  No password is kept: ``ha1`` holds the digest
    HA1 of ``username:realm:password`` per algorithm (RFC 7616 §3.4.2)."""

    username: str
    realm: str
    ha1: dict[str, str] = field(default_factory=dict)
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class Binding:
    """One contact registered for an address of record (RFC 3261 §10).

    ``expires_at`` is wall-clock seconds since the epoch, so that a binding
    outlives a restart correctly.  ``path`` (RFC 3327), ``instance`` and
    ``reg_id`` (RFC 5626) are kept as the REGISTER gave them; ``source`` is
    where the REGISTER came from (``transport:host:port``).
    """

    aor: str
    contact: str
    expires_at: float
    call_id: str
    cseq: int
    q: float | None = None
    path: tuple[str, ...] = ()
    instance: str | None = None
    reg_id: int | None = None
    source: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Publication:
    """One published presence document (RFC 3903) of one publisher (device)
    of ``aor``, under entity tag ``etag``; ``body`` is the PIDF as
    published."""

    aor: str
    etag: str
    body: bytes
    expires_at: float
    published_at: float


@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    """One archived item: an instant message (``kind`` ``"message"``, with
    its body), a conversation start, join or leave, or a sign-in / sign-out
    (usage records, no body).  ``time`` is wall-clock seconds."""

    time: float
    kind: str
    sender: str
    recipient: str
    call_id: str = ""
    content_type: str | None = None
    body: bytes = b""
    conversation: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call in a user's call log: when, with whom, which way, how it
    ended — never what was said or offered (no SDP)."""

    started: float
    ended: float
    answered: float | None
    direction: str
    remote: str
    outcome: str
    id: int | None = None

    @property
    def duration(self) -> float:
        """Seconds from the answer to the end (0 when never answered)."""
        return 0.0 if self.answered is None else max(0.0, self.ended - self.answered)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One instant message in a user's own conversation history (kept only
    while the user has history on)."""

    time: float
    direction: str
    peer: str
    content_type: str
    body: bytes
    conversation: str | None = None


@dataclass(frozen=True, slots=True)
class DialogRecord:
    """What a user agent needs to go on with a dialog after a restart
    (RFC 3261 §12.1): its id, both URIs, the remote target and route set as
    text, the two CSeq spaces and whether it is secure.

    ``local_cseq`` is a ceiling, not the last CSeq sent: every request the
    server sent in the dialog had a CSeq at most this, so a resumed dialog
    goes on above it (§12.2.1.1: CSeq rises by one or more per request).
    ``remote_cseq`` is the last CSeq received when the record was written;
    it may lag behind, which only lets an old request in after a restart,
    never refuses a new one (§12.2.2 refuses lower numbers).
    """

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    remote_target: str
    route_set: tuple[str, ...] = ()
    local_cseq: int = 0
    remote_cseq: int | None = None
    secure: bool = False

    @property
    def key(self) -> DialogKey:
        """(Call-ID, local tag, remote tag)."""
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def of(cls, dialog: Dialog, *, local_cseq: int | None = None) -> DialogRecord:
        """The record of ``dialog``; ``local_cseq`` is the ceiling to store
        (default: the dialog's last local CSeq)."""
        return cls(
            call_id=dialog.call_id,
            local_tag=dialog.local_tag,
            remote_tag=dialog.remote_tag,
            local_uri=str(dialog.local_uri),
            remote_uri=str(dialog.remote_uri),
            remote_target=str(dialog.remote_target),
            route_set=tuple(str(r) for r in dialog.route_set),
            local_cseq=dialog.local_seq if local_cseq is None else local_cseq,
            remote_cseq=dialog.remote_seq,
            secure=dialog.secure,
        )

    def to_dialog(self) -> Dialog:
        """A confirmed dialog that goes on from this record: its next
        request has CSeq ``local_cseq + 1``."""
        return Dialog(
            call_id=self.call_id,
            local_tag=self.local_tag,
            remote_tag=self.remote_tag,
            local_uri=parse_address(self.local_uri),
            remote_uri=parse_address(self.remote_uri),
            remote_target=parse_uri(self.remote_target),
            route_set=[parse_address(r, "Route") for r in self.route_set],
            local_seq=self.local_cseq,
            remote_seq=self.remote_cseq,
            secure=self.secure,
            state=DialogState.CONFIRMED,
        )


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """One subscription the server notifies (RFC 6665), as it needs it to
    go on notifying after a restart: the event package and its ``id``
    parameter, the resource watched (an address of record, or a
    conversation URI for ``conference``), the watcher, the notifier's side
    of the dialog, the server's own Contact for the NOTIFYs, and the
    expiry as wall-clock seconds since the epoch."""

    event: str
    resource: str
    watcher: str
    dialog: DialogRecord
    expires_at: float
    event_id: str | None = None
    contact: str | None = None

    @property
    def key(self) -> DialogKey:
        """The dialog id."""
        return self.dialog.key

    def to_notifier(self, now: float, **limits: int) -> Notifier:
        """The notifier that goes on with this subscription (``limits``:
        ``min_expires``/``max_expires`` for its refreshes); raises
        SIPParseError when the stored dialog no longer parses."""
        return Notifier.restore(
            self.dialog.to_dialog(), event=self.event, event_id=self.event_id,
            watcher=self.watcher, expires_at=self.expires_at, now=now, contact=self.contact,
            **limits,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    """One participant of a conversation: who (``entity``, the From URI of
    its INVITE), how it is shown, when it joined (wall clock), and the
    focus's side of its dialog."""

    entity: str
    dialog: DialogRecord
    display_name: str | None = None
    joined_at: float = 0.0

    @property
    def key(self) -> DialogKey:
        """The dialog id."""
        return self.dialog.key


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """A multi-party conversation at the focus: its URI, who started it and
    when (wall clock), its participants, and the version of its last
    conference-info document (RFC 4575 §4.1: versions only rise, across a
    restart too).  Those who follow its roster are kept as subscriptions
    (event ``conference``, the conversation URI as resource)."""

    uri: str
    creator: str
    created_at: float
    participants: tuple[ParticipantRecord, ...] = ()
    version: int = 0


class Accounts(Protocol):
    """Accounts by user name."""

    async def get(self, username: str) -> Account | None:
        """The account, or None."""
        ...

    async def put(self, account: Account) -> None:
        """Create or replace an account."""
        ...

    async def remove(self, username: str) -> bool:
        """Delete an account; False when there was none."""
        ...

    async def all(self) -> list[Account]:
        """Every account, by user name."""
        ...


class Registrations(Protocol):
    """Bindings by address of record."""

    async def load(self) -> dict[str, list[Binding]]:
        """Every stored binding, by address of record (at start-up)."""
        ...

    async def replace(self, aor: str, bindings: list[Binding]) -> None:
        """Make ``bindings`` the whole set for ``aor`` (committed before it
        returns: a 200 to REGISTER is only sent for what is stored)."""
        ...


class Publications(Protocol):
    """Published presence, by address of record."""

    async def load(self) -> list[Publication]:
        """Every stored publication (at start-up)."""
        ...

    async def put(self, publication: Publication, replaces: str | None = None) -> None:
        """Store ``publication``, dropping the one tagged ``replaces``."""
        ...

    async def remove(self, aor: str, etag: str) -> None:
        """Drop a publication."""
        ...


class Access(Protocol):
    """Access levels each user gave its watchers."""

    async def load(self) -> dict[tuple[str, str], int]:
        """Every level, by (owner AOR, watcher AOR)."""
        ...

    async def set(self, owner: str, watcher: str, level: int) -> None:
        """Give ``watcher`` ``level`` for ``owner``'s presence."""
        ...

    async def version(self) -> int:
        """A number that changes when another process (the command line)
        has changed the stored levels since the last call: a running server
        polls it and reloads.  It may also change for other data."""
        ...


class Archive(Protocol):
    """The server archive (written only when the administrator turned
    archiving on)."""

    async def append(self, record: ArchiveRecord) -> int:
        """Store ``record``, committed when this returns; its id."""
        ...

    async def search(
        self,
        *,
        user: str | None = None,
        peer: str | None = None,
        since: float | None = None,
        until: float | None = None,
        text: str | None = None,
        limit: int = 1000,
    ) -> list[ArchiveRecord]:
        """Records by user (sender or recipient), peer (the other side),
        time range and text in the body, oldest first."""
        ...

    async def purge(self, before: float) -> int:
        """Delete records older than ``before``; how many."""
        ...


class Subscriptions(Protocol):
    """The subscriptions the server notifies, by dialog id.

    The stored local CSeq of a dialog never goes down: :meth:`put` and
    :meth:`raise_cseq` keep the higher of the stored and the given value,
    whatever order concurrent writes land in.
    """

    async def load(self, events: Collection[str]) -> list[SubscriptionRecord]:
        """Every stored subscription to one of ``events`` (at start-up)."""
        ...

    async def put(self, record: SubscriptionRecord) -> None:
        """Create or replace a subscription (committed before it returns: a
        2xx to SUBSCRIBE is only sent for what is stored)."""
        ...

    async def remove(self, keys: Collection[DialogKey]) -> None:
        """Drop subscriptions that ended (unknown ones are ignored)."""
        ...

    async def raise_cseq(self, ceilings: Mapping[DialogKey, int]) -> None:
        """Raise the local CSeq of each dialog to at least its value, in one
        transaction (unknown dialogs are ignored)."""
        ...

    async def purge(self, before: float) -> int:
        """Drop every subscription that expired at or before ``before``;
        how many."""
        ...


class Conversations(Protocol):
    """The focus's conversations and their participants.  As for
    subscriptions, a participant's stored local CSeq never goes down."""

    async def load(self) -> list[ConversationRecord]:
        """Every stored conversation with its participants (at start-up)."""
        ...

    async def join(self, conversation: ConversationRecord, participant: ParticipantRecord) -> None:
        """``participant`` joined ``conversation``: the conversation is
        stored with its URI, creator and creation time when new, its version
        is set, and the participant is added (its ``participants`` are not
        read).  Committed before it returns: the 200 to the INVITE follows."""
        ...

    async def leave(self, uri: str, key: DialogKey, version: int) -> None:
        """The participant with dialog ``key`` left ``uri``; the
        conversation's version becomes ``version``."""
        ...

    async def remove(self, uri: str) -> None:
        """The conversation ended: drop it and its participants."""
        ...

    async def raise_cseq(self, ceilings: Mapping[DialogKey, int]) -> None:
        """Raise the local CSeq of each participant's dialog to at least its
        value, in one transaction (unknown dialogs are ignored)."""
        ...


class Store(Protocol):
    """All repositories of one backend."""

    @property
    def accounts(self) -> Accounts:
        """The accounts repository."""
        ...

    @property
    def registrations(self) -> Registrations:
        """The registrations repository."""
        ...

    @property
    def publications(self) -> Publications:
        """The published-presence repository."""
        ...

    @property
    def access(self) -> Access:
        """The access-level repository."""
        ...

    @property
    def archive(self) -> Archive:
        """The archive repository."""
        ...

    @property
    def subscriptions(self) -> Subscriptions:
        """The subscriptions repository."""
        ...

    @property
    def conversations(self) -> Conversations:
        """The conversations repository."""
        ...

    async def close(self) -> None:
        """Finish pending writes and release the backend."""
        ...
