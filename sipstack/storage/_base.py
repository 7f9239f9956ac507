"""What the server stores, as plain records, and the repository interfaces
a backend implements (SQLite here; PostgreSQL can follow without touching
the server logic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "Access",
    "Account",
    "Accounts",
    "Archive",
    "ArchiveRecord",
    "Binding",
    "CallRecord",
    "HistoryEntry",
    "Publication",
    "Publications",
    "Registrations",
    "Store",
]


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

    async def close(self) -> None:
        """Finish pending writes and release the backend."""
        ...
