"""Server storage: a repository interface per kind of data and the SQLite
backend (the embedded default).  Every call that changes data has
committed it when it returns."""

from pathlib import Path

from ._base import (
    Access,
    Account,
    Accounts,
    Archive,
    ArchiveRecord,
    Binding,
    CallRecord,
    ConversationRecord,
    Conversations,
    DialogKey,
    DialogRecord,
    HistoryEntry,
    ParticipantRecord,
    Publication,
    Publications,
    Registrations,
    Store,
    SubscriptionRecord,
    Subscriptions,
)
from ._sqlite import SQLiteStore

__all__ = [
    "DB_NAME",
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
    "SQLiteStore",
    "Store",
    "SubscriptionRecord",
    "Subscriptions",
    "open_store",
]

#: The database file in a server's data directory.
DB_NAME = "sipstack.db"


def open_store(data_dir: str | Path) -> SQLiteStore:
    """The SQLite store in ``data_dir`` (created when missing)."""
    return SQLiteStore(Path(data_dir) / DB_NAME)
