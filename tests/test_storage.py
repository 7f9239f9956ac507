"""The SQLite store: archive records appended concurrently are committed in
groups, each caller returning once its own record is stored; closing waits
for what is pending; a failing group fails each of its callers."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from sipstack.storage import ArchiveRecord, open_store


def record(n: int) -> ArchiveRecord:
    return ArchiveRecord(float(n), "message", f"sip:u{n}@x", "sip:v@x", body=f"m{n}".encode())


async def test_concurrent_appends_are_grouped_and_all_committed(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ids = await asyncio.gather(*(store.archive.append(record(n)) for n in range(300)))
    assert sorted(ids) == list(range(1, 301))
    found = await store.archive.search(limit=1000)
    assert [r.body for r in found] == [f"m{n}".encode() for n in range(300)]
    tail = [asyncio.ensure_future(store.archive.append(record(n))) for n in range(300, 320)]
    await asyncio.sleep(0)  # let them start; closing must still commit them
    await store.close()
    await asyncio.gather(*tail)
    with sqlite3.connect(tmp_path / "sipstack.db") as db:
        assert db.execute("SELECT COUNT(*) FROM archive").fetchone() == (320,)


async def test_a_failed_group_fails_each_caller(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    await store.archive.append(record(0))
    store.run_blocking(lambda db: db.execute("DROP TABLE archive"))
    results = await asyncio.gather(
        *(store.archive.append(record(n)) for n in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, sqlite3.OperationalError) for r in results)
    with pytest.raises(sqlite3.OperationalError):
        await store.archive.append(record(9))  # the next group fails on its own
    await store.close()
