"""The embedded default backend: one SQLite file in WAL mode, used from one
worker thread so that the event loop never waits on the disk."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import sqlite3
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ._base import (
    Account,
    ArchiveRecord,
    Binding,
    CallRecord,
    ConversationRecord,
    DialogKey,
    DialogRecord,
    HistoryEntry,
    ParticipantRecord,
    Publication,
    SubscriptionRecord,
)

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    realm TEXT NOT NULL,
    ha1 TEXT NOT NULL,
    display_name TEXT
);
CREATE TABLE IF NOT EXISTS bindings (
    aor TEXT NOT NULL,
    contact TEXT NOT NULL,
    expires_at REAL NOT NULL,
    call_id TEXT NOT NULL,
    cseq INTEGER NOT NULL,
    q REAL,
    path TEXT NOT NULL,
    instance TEXT,
    reg_id INTEGER,
    source TEXT,
    user_agent TEXT,
    PRIMARY KEY (aor, contact)
);
CREATE TABLE IF NOT EXISTS publications (
    aor TEXT NOT NULL,
    etag TEXT NOT NULL,
    body BLOB NOT NULL,
    expires_at REAL NOT NULL,
    published_at REAL NOT NULL,
    PRIMARY KEY (aor, etag)
);
CREATE TABLE IF NOT EXISTS archive (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    call_id TEXT NOT NULL,
    content_type TEXT,
    body BLOB NOT NULL,
    conversation TEXT
);
CREATE INDEX IF NOT EXISTS archive_time ON archive (time);
CREATE TABLE IF NOT EXISTS call_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    ended REAL NOT NULL,
    answered REAL,
    direction TEXT NOT NULL,
    remote TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    direction TEXT NOT NULL,
    peer TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    conversation TEXT
);
CREATE TABLE IF NOT EXISTS access (
    owner TEXT NOT NULL,
    watcher TEXT NOT NULL,
    level INTEGER NOT NULL,
    PRIMARY KEY (owner, watcher)
);
CREATE TABLE IF NOT EXISTS subscriptions (
    call_id TEXT NOT NULL,
    local_tag TEXT NOT NULL,
    remote_tag TEXT NOT NULL,
    event TEXT NOT NULL,
    event_id TEXT,
    resource TEXT NOT NULL,
    watcher TEXT NOT NULL,
    local_uri TEXT NOT NULL,
    remote_uri TEXT NOT NULL,
    remote_target TEXT NOT NULL,
    route_set TEXT NOT NULL,
    local_cseq INTEGER NOT NULL,
    remote_cseq INTEGER,
    secure INTEGER NOT NULL,
    contact TEXT,
    expires_at REAL NOT NULL,
    PRIMARY KEY (call_id, local_tag, remote_tag)
);
CREATE INDEX IF NOT EXISTS subscriptions_expiry ON subscriptions (expires_at);
CREATE TABLE IF NOT EXISTS conversations (
    uri TEXT PRIMARY KEY,
    creator TEXT NOT NULL,
    created_at REAL NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS participants (
    call_id TEXT NOT NULL,
    local_tag TEXT NOT NULL,
    remote_tag TEXT NOT NULL,
    conversation TEXT NOT NULL,
    entity TEXT NOT NULL,
    display_name TEXT,
    joined_at REAL NOT NULL,
    local_uri TEXT NOT NULL,
    remote_uri TEXT NOT NULL,
    remote_target TEXT NOT NULL,
    route_set TEXT NOT NULL,
    local_cseq INTEGER NOT NULL,
    remote_cseq INTEGER,
    secure INTEGER NOT NULL,
    PRIMARY KEY (call_id, local_tag, remote_tag)
);
CREATE INDEX IF NOT EXISTS participants_conversation ON participants (conversation);
"""


class SQLiteStore:
    """Every repository in the SQLite file at ``path`` (created with its
    directory when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One thread owns the connection: sqlite3 objects stay in the thread
        # that made them, and writes are serialised without a lock.
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        self._db: sqlite3.Connection | None = None
        self._run_sync(self._open)
        self.accounts = _Accounts(self)
        self.registrations = _Registrations(self)
        self.publications = _Publications(self)
        self.access = _Access(self)
        self.archive = _Archive(self)
        self.call_log = _CallLog(self)
        self.history = _History(self)
        self.subscriptions = _Subscriptions(self)
        self.conversations = _Conversations(self)

    def _open(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL keeps every committed transaction across a crash
        # or kill of the process (what "nothing acknowledged is lost" asks);
        # only a power cut may lose the last ones.  FULL would fsync each
        # commit and cap REGISTERs at the disk's flush rate.
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        self._db = db

    def _run_sync(self, fn: Callable[[], T]) -> T:
        return self._pool.submit(fn).result()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            assert self._db is not None
            return fn(self._db)

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def run_blocking(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` with the connection from synchronous code (the CLI)."""

        def call() -> T:
            assert self._db is not None
            return fn(self._db)

        return self._run_sync(call)

    async def close(self) -> None:
        """Close the database and its thread (pending archive records are
        committed first)."""
        await self.archive.drain()
        await asyncio.get_running_loop().run_in_executor(self._pool, self._close)
        self._pool.shutdown(wait=True)

    def close_blocking(self) -> None:
        """:meth:`close` for synchronous code."""
        self._run_sync(self._close)
        self._pool.shutdown(wait=True)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _account(row: tuple[str, str, str, str | None]) -> Account:
    username, realm, ha1, display = row
    return Account(username, realm, json.loads(ha1), display)


class _Accounts:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def get(self, username: str) -> Account | None:
        def q(db: sqlite3.Connection) -> Account | None:
            row = db.execute(
                "SELECT username, realm, ha1, display_name FROM accounts WHERE username = ?",
                (username,),
            ).fetchone()
            return None if row is None else _account(row)

        return await self._store._run(q)

    async def put(self, account: Account) -> None:
        def q(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?)",
                (account.username, account.realm, json.dumps(account.ha1), account.display_name),
            )

        await self._store._run(q)

    async def remove(self, username: str) -> bool:
        def q(db: sqlite3.Connection) -> bool:
            cur = db.execute("DELETE FROM accounts WHERE username = ?", (username,))
            db.execute("DELETE FROM bindings WHERE aor LIKE ?", (f"%:{username}@%",))
            return cur.rowcount > 0

        return await self._store._run(q)

    async def all(self) -> list[Account]:
        def q(db: sqlite3.Connection) -> list[Account]:
            rows = db.execute(
                "SELECT username, realm, ha1, display_name FROM accounts ORDER BY username"
            ).fetchall()
            return [_account(r) for r in rows]

        return await self._store._run(q)


class _Registrations:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def load(self) -> dict[str, list[Binding]]:
        def q(db: sqlite3.Connection) -> dict[str, list[Binding]]:
            out: dict[str, list[Binding]] = {}
            for row in db.execute("SELECT * FROM bindings ORDER BY aor, contact"):
                b = Binding(
                    aor=row[0],
                    contact=row[1],
                    expires_at=row[2],
                    call_id=row[3],
                    cseq=row[4],
                    q=row[5],
                    path=tuple(json.loads(row[6])),
                    instance=row[7],
                    reg_id=row[8],
                    source=row[9],
                    user_agent=row[10],
                )
                out.setdefault(b.aor, []).append(b)
            return out

        return await self._store._run(q)

    async def replace(self, aor: str, bindings: list[Binding]) -> None:
        def q(db: sqlite3.Connection) -> None:
            with db:  # one transaction: the set changes whole or not at all
                db.execute("BEGIN")
                db.execute("DELETE FROM bindings WHERE aor = ?", (aor,))
                db.executemany(
                    "INSERT INTO bindings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            b.aor,
                            b.contact,
                            b.expires_at,
                            b.call_id,
                            b.cseq,
                            b.q,
                            json.dumps(list(b.path)),
                            b.instance,
                            b.reg_id,
                            b.source,
                            b.user_agent,
                        )
                        for b in bindings
                    ],
                )

        await self._store._run(q)


class _Publications:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def load(self) -> list[Publication]:
        def q(db: sqlite3.Connection) -> list[Publication]:
            rows = db.execute(
                "SELECT aor, etag, body, expires_at, published_at FROM publications"
            ).fetchall()
            return [Publication(a, e, bytes(b), x, p) for a, e, b, x, p in rows]

        return await self._store._run(q)

    async def put(self, publication: Publication, replaces: str | None = None) -> None:
        p = publication

        def q(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                if replaces is not None:
                    db.execute(
                        "DELETE FROM publications WHERE aor = ? AND etag = ?", (p.aor, replaces)
                    )
                db.execute(
                    "INSERT OR REPLACE INTO publications VALUES (?, ?, ?, ?, ?)",
                    (p.aor, p.etag, p.body, p.expires_at, p.published_at),
                )

        await self._store._run(q)

    async def remove(self, aor: str, etag: str) -> None:
        def q(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM publications WHERE aor = ? AND etag = ?", (aor, etag))

        await self._store._run(q)


class _Access:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def load(self) -> dict[tuple[str, str], int]:
        def q(db: sqlite3.Connection) -> dict[tuple[str, str], int]:
            rows = db.execute("SELECT owner, watcher, level FROM access").fetchall()
            return {(o, w): int(lv) for o, w, lv in rows}

        return await self._store._run(q)

    async def set(self, owner: str, watcher: str, level: int) -> None:
        def q(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO access VALUES (?, ?, ?)", (owner, watcher, level))

        await self._store._run(q)

    async def version(self) -> int:
        # Changes with every commit by another connection to the file,
        # never with this connection's own.
        return await self._store._run(
            lambda db: int(db.execute("PRAGMA data_version").fetchone()[0])
        )


class _Archive:
    """Appends are committed in groups: records that arrive while a commit
    is running go together in the next one (one transaction, one trip to
    the database thread), and each caller returns only once its own record
    is committed."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._batch: list[tuple[ArchiveRecord, asyncio.Future[int]]] = []
        self._committing = False
        self._task: asyncio.Task[None] | None = None

    async def append(self, record: ArchiveRecord) -> int:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        self._batch.append((record, done))
        if not self._committing:
            self._committing = True
            # After this pass of the loop: what else arrives in it joins.
            loop.call_soon(self._commit_next)
        return await done

    async def drain(self) -> None:
        """Wait until every record appended so far is committed."""
        while self._committing:
            task = self._task
            if task is not None and not task.done():
                await asyncio.wait([task])
            else:
                await asyncio.sleep(0)  # the next commit is about to start

    def _commit_next(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            self._committing = False
            return
        self._task = asyncio.ensure_future(self._commit(batch))

    async def _commit(self, batch: list[tuple[ArchiveRecord, asyncio.Future[int]]]) -> None:
        rows = [
            (r.time, r.kind, r.sender, r.recipient, r.call_id, r.content_type, r.body,
             r.conversation)
            for r, _ in batch
        ]  # fmt: skip

        def q(db: sqlite3.Connection) -> list[int]:
            ids = []
            with db:  # one transaction for the whole group
                db.execute("BEGIN")
                for row in rows:
                    cur = db.execute(
                        "INSERT INTO archive (time, kind, sender, recipient, call_id,"
                        " content_type, body, conversation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        row,
                    )
                    ids.append(int(cur.lastrowid or 0))
            return ids

        try:
            ids = await self._store._run(q)
        except Exception as exc:
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
        else:
            for (_, done), rowid in zip(batch, ids, strict=True):
                if not done.done():
                    done.set_result(rowid)
        finally:
            self._commit_next()

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
        where: list[str] = []
        args: list[object] = []
        if user is not None:
            where.append("(sender = ? OR recipient = ?)")
            args += [user, user]
        if peer is not None:
            where.append("(sender = ? OR recipient = ? OR conversation = ?)")
            args += [peer, peer, peer]
        if since is not None:
            where.append("time >= ?")
            args.append(since)
        if until is not None:
            where.append("time < ?")
            args.append(until)
        if text is not None:
            # instr() on the blob: no LIKE wildcards to escape.
            where.append("instr(body, ?) > 0")
            args.append(text.encode())
        sql = "SELECT time, kind, sender, recipient, call_id, content_type, body, conversation, id"
        sql += " FROM archive" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY time, id LIMIT ?"
        args.append(limit)

        def q(db: sqlite3.Connection) -> list[ArchiveRecord]:
            return [
                ArchiveRecord(t, k, s, r, c, ct, bytes(b), conv, i)
                for t, k, s, r, c, ct, b, conv, i in db.execute(sql, args)
            ]

        return await self._store._run(q)

    async def purge(self, before: float) -> int:
        def q(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM archive WHERE time < ?", (before,)).rowcount

        return await self._store._run(q)


class _CallLog:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def add(self, record: CallRecord) -> None:
        r = record

        def q(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO call_log (started, ended, answered, direction, remote, outcome)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (r.started, r.ended, r.answered, r.direction, r.remote, r.outcome),
            )

        await self._store._run(q)

    async def recent(self, limit: int = 100) -> list[CallRecord]:
        def q(db: sqlite3.Connection) -> list[CallRecord]:
            rows = db.execute(
                "SELECT started, ended, answered, direction, remote, outcome, id FROM call_log"
                " ORDER BY started DESC, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            return [CallRecord(*row) for row in rows]

        return await self._store._run(q)


class _History:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def add(self, entry: HistoryEntry) -> None:
        e = entry

        def q(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO history (time, direction, peer, content_type, body, conversation)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (e.time, e.direction, e.peer, e.content_type, e.body, e.conversation),
            )

        await self._store._run(q)

    async def with_peer(self, peer: str, limit: int = 1000) -> list[HistoryEntry]:
        def q(db: sqlite3.Connection) -> list[HistoryEntry]:
            rows = db.execute(
                "SELECT time, direction, peer, content_type, body, conversation FROM history"
                " WHERE peer = ? OR conversation = ? ORDER BY time, id LIMIT ?",
                (peer, peer, limit),
            ).fetchall()
            return [HistoryEntry(t, d, p, c, bytes(b), conv) for t, d, p, c, b, conv in rows]

        return await self._store._run(q)


# The dialog columns shared by subscriptions and participants, in table order.
_DIALOG_COLUMNS = "local_uri, remote_uri, remote_target, route_set, local_cseq, remote_cseq, secure"


def _dialog_values(d: DialogRecord) -> tuple[Any, ...]:
    return (
        d.local_uri,
        d.remote_uri,
        d.remote_target,
        json.dumps(list(d.route_set)),
        d.local_cseq,
        d.remote_cseq,
        int(d.secure),
    )


def _dialog(key: DialogKey, values: tuple[Any, ...]) -> DialogRecord:
    local_uri, remote_uri, target, routes, local_cseq, remote_cseq, secure = values
    return DialogRecord(
        *key,
        local_uri=local_uri,
        remote_uri=remote_uri,
        remote_target=target,
        route_set=tuple(json.loads(routes)),
        local_cseq=int(local_cseq),
        remote_cseq=None if remote_cseq is None else int(remote_cseq),
        secure=bool(secure),
    )


def _raise_cseq(db: sqlite3.Connection, table: str, ceilings: Mapping[DialogKey, int]) -> None:
    # max(): a ceiling only rises, whichever of two writes lands last.
    with db:
        db.execute("BEGIN")
        db.executemany(
            f"UPDATE {table} SET local_cseq = max(local_cseq, ?)"
            " WHERE call_id = ? AND local_tag = ? AND remote_tag = ?",
            [(seq, *key) for key, seq in ceilings.items()],
        )


class _Subscriptions:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def load(self, events: Collection[str]) -> list[SubscriptionRecord]:
        wanted = sorted(set(events))
        marks = ", ".join("?" * len(wanted))
        sql = (
            "SELECT call_id, local_tag, remote_tag, event, event_id, resource, watcher,"
            f" {_DIALOG_COLUMNS}, contact, expires_at FROM subscriptions"
            f" WHERE event IN ({marks}) ORDER BY expires_at"
        )

        def q(db: sqlite3.Connection) -> list[SubscriptionRecord]:
            out = []
            for row in db.execute(sql, wanted):
                key = (row[0], row[1], row[2])
                event, event_id, resource, watcher = row[3:7]
                contact, expires_at = row[14:16]
                out.append(
                    SubscriptionRecord(
                        event=event,
                        resource=resource,
                        watcher=watcher,
                        dialog=_dialog(key, tuple(row[7:14])),
                        expires_at=float(expires_at),
                        event_id=event_id,
                        contact=contact,
                    )
                )
            return out

        return await self._store._run(q)

    async def put(self, record: SubscriptionRecord) -> None:
        r = record
        row = (
            *r.key, r.event, r.event_id, r.resource, r.watcher,
            *_dialog_values(r.dialog), r.contact, r.expires_at,
        )  # fmt: skip

        def q(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO subscriptions VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (call_id, local_tag, remote_tag) DO UPDATE SET"
                " event = excluded.event, event_id = excluded.event_id,"
                " resource = excluded.resource, watcher = excluded.watcher,"
                " local_uri = excluded.local_uri, remote_uri = excluded.remote_uri,"
                " remote_target = excluded.remote_target, route_set = excluded.route_set,"
                " local_cseq = max(local_cseq, excluded.local_cseq),"
                " remote_cseq = excluded.remote_cseq, secure = excluded.secure,"
                " contact = excluded.contact, expires_at = excluded.expires_at",
                row,
            )

        await self._store._run(q)

    async def remove(self, keys: Collection[DialogKey]) -> None:
        rows = [tuple(k) for k in keys]

        def q(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                db.executemany(
                    "DELETE FROM subscriptions"
                    " WHERE call_id = ? AND local_tag = ? AND remote_tag = ?",
                    rows,
                )

        await self._store._run(q)

    async def raise_cseq(self, ceilings: Mapping[DialogKey, int]) -> None:
        batch = dict(ceilings)
        await self._store._run(lambda db: _raise_cseq(db, "subscriptions", batch))

    async def purge(self, before: float) -> int:
        def q(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM subscriptions WHERE expires_at <= ?", (before,)).rowcount

        return await self._store._run(q)


class _Conversations:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def load(self) -> list[ConversationRecord]:
        def q(db: sqlite3.Connection) -> list[ConversationRecord]:
            members: dict[str, list[ParticipantRecord]] = {}
            for row in db.execute(
                "SELECT call_id, local_tag, remote_tag, conversation, entity, display_name,"
                f" joined_at, {_DIALOG_COLUMNS} FROM participants ORDER BY joined_at"
            ):
                key = (row[0], row[1], row[2])
                members.setdefault(row[3], []).append(
                    ParticipantRecord(
                        entity=row[4],
                        dialog=_dialog(key, tuple(row[7:14])),
                        display_name=row[5],
                        joined_at=float(row[6]),
                    )
                )
            rows = db.execute(
                "SELECT uri, creator, created_at, version FROM conversations ORDER BY created_at"
            ).fetchall()
            return [
                ConversationRecord(uri, creator, float(at), tuple(members.get(uri, ())), version)
                for uri, creator, at, version in rows
            ]

        return await self._store._run(q)

    async def join(self, conversation: ConversationRecord, participant: ParticipantRecord) -> None:
        c, p = conversation, participant
        row = (
            *p.key, c.uri, p.entity, p.display_name, p.joined_at, *_dialog_values(p.dialog),
        )  # fmt: skip

        def q(db: sqlite3.Connection) -> None:
            with db:  # the conversation and its new participant together
                db.execute("BEGIN")
                db.execute(
                    "INSERT INTO conversations VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (uri) DO UPDATE SET version = excluded.version",
                    (c.uri, c.creator, c.created_at, c.version),
                )
                db.execute(
                    "INSERT INTO participants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (call_id, local_tag, remote_tag) DO UPDATE SET"
                    " local_cseq = max(local_cseq, excluded.local_cseq)",
                    row,
                )

        await self._store._run(q)

    async def leave(self, uri: str, key: DialogKey, version: int) -> None:
        def q(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                db.execute(
                    "DELETE FROM participants WHERE call_id = ? AND local_tag = ? AND remote_tag = ?",
                    key,
                )
                db.execute("UPDATE conversations SET version = ? WHERE uri = ?", (version, uri))

        await self._store._run(q)

    async def remove(self, uri: str) -> None:
        def q(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                db.execute("DELETE FROM participants WHERE conversation = ?", (uri,))
                db.execute("DELETE FROM conversations WHERE uri = ?", (uri,))

        await self._store._run(q)

    async def raise_cseq(self, ceilings: Mapping[DialogKey, int]) -> None:
        batch = dict(ceilings)
        await self._store._run(lambda db: _raise_cseq(db, "participants", batch))
