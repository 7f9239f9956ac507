"""The server archive: off by default; switched on by the administrator it
keeps instant messages (exactly their bodies), conversation records and
sign-ins, searchable and exportable from the command line; when mandatory,
a MESSAGE that got a 200 is in the archive even if the server is killed
mid-run, and one that cannot be archived is refused."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from peer_events import expect
from server_runner import RunningServer, free_port_pair, server, sipstack

from sipstack.policy import Feature
from sipstack.server import Server, ServerConfig, add_user
from sipstack.storage import open_store
from sipstack.transaction import TimerConfig
from sipstack.ua import MessageReceived, ParticipantJoined, Peer, Registered, RequestFailed

TIMEOUT = 10.0
USERS = {"alice": "a", "bob": "b"}


def user(name: str, srv: RunningServer | str, **kw: Any) -> Peer:
    base = srv if isinstance(srv, str) else srv.uri
    return Peer(
        f"sip:{name}@localhost", password=USERS[name], register=True,
        registrar=base, proxy=f"{base};lr", **kw,
    )  # fmt: skip


def archive_rows(data: Path, *args: str) -> list[dict[str, object]]:
    done = sipstack("archive", "search", "--data-dir", str(data), *args)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


async def test_archiving_is_off_by_default(tmp_path: Path) -> None:
    async with (
        server(tmp_path, USERS) as srv,
        user("alice", srv) as alice,
        user("bob", srv) as bob,
    ):
        assert "archiving off" in srv.lines
        await alice.message("sip:bob@localhost", "not for the record")
        await expect(bob, MessageReceived)
    assert archive_rows(srv.data_dir) == []


async def test_the_administrator_archives_messages_conversations_and_sign_ins(
    tmp_path: Path,
) -> None:
    bodies = ["first words", "second thoughts 😀", "third\r\nwith: header-like lines"]
    async with (
        server(tmp_path, USERS, extra=["--archive"]) as srv,
        user("alice", srv) as alice,
        user("bob", srv) as bob,
    ):
        assert "archiving on" in srv.lines
        await expect(alice, Registered)
        for text in bodies:
            await alice.message("sip:bob@localhost", text)
            await expect(bob, MessageReceived)
        conv = await alice.join("sip:conv-team@localhost")
        await bob.join("sip:conv-team@localhost")
        await expect(alice, ParticipantJoined)
        await conv.send("to the team")
        await expect(bob, MessageReceived)
    data = srv.data_dir
    messages = archive_rows(data, "--user", "sip:alice@localhost")
    said = [r["body"] for r in messages if r["kind"] == "message"]
    assert said == [*bodies, "to the team"]  # exactly the bodies, in order
    team = [r for r in messages if r["conversation"] == "sip:conv-team@localhost"]
    assert {r["kind"] for r in team} >= {"conversation-start", "join", "message"}
    signins = [r for r in archive_rows(data) if r["kind"] in ("sign-in", "sign-out")]
    assert {r["sender"] for r in signins} == {"sip:alice@localhost", "sip:bob@localhost"}
    found = archive_rows(data, "--text", "second")
    assert [r["body"] for r in found] == ["second thoughts 😀"]
    exported = sipstack("archive", "export", "--format", "csv", "--data-dir", str(data))
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert any(r["body"] == "first words" for r in rows)
    purged = sipstack("archive", "purge", "--older-than", "0", "--data-dir", str(data))
    assert purged.returncode == 0 and "purged" in purged.stdout
    assert archive_rows(data) == []


async def test_mandatory_archive_loses_nothing_when_the_server_is_killed(tmp_path: Path) -> None:
    """Every MESSAGE that got a 200 is in the archive, though the server is
    killed with SIGKILL in the middle of the run (0 lost)."""
    data = tmp_path / "data"
    for name, password in USERS.items():
        assert (
            sipstack("users", "add", name, "--data-dir", str(data), password=password).returncode
            == 0
        )
    port = free_port_pair()
    base = f"sip:127.0.0.1:{port}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sipstack", "server", "--data-dir", str(data),
        "--listen", f"127.0.0.1:{port}", "--archive", "--archive-mandatory",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    acknowledged: list[str] = []
    try:
        assert proc.stdout is not None
        while not (await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)).startswith(b"data in"):
            pass
        # Short timers: once the server is dead, requests fail in 0.6 s.
        fast = TimerConfig(t1=0.01, t2=0.1, t4=0.1)
        async with user("alice", base, timers=fast) as alice, user("bob", base, timers=fast) as bob:
            await expect(bob, Registered)
            for n in range(200):
                if n == 60:
                    os.kill(proc.pid, signal.SIGKILL)  # mid-run, no warning
                try:
                    ok = await asyncio.wait_for(
                        alice.message("sip:bob@localhost", f"durable {n}"), 3.0
                    )
                except (RequestFailed, TimeoutError):
                    break
                if ok.status == 200:
                    acknowledged.append(f"durable {n}")
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()
    assert len(acknowledged) >= 60
    with contextlib.closing(sqlite3.connect(data / "sipstack.db")) as db:
        stored = {
            b.decode() for (b,) in db.execute("SELECT body FROM archive WHERE kind='message'")
        }
    lost = [m for m in acknowledged if m not in stored]
    assert lost == []


async def test_mandatory_archive_refuses_what_it_cannot_record(tmp_path: Path) -> None:
    port = free_port_pair()
    cfg = ServerConfig(data_dir=tmp_path / "data", listen=[("127.0.0.1", port)])
    cfg.policy.set_admin(Feature.ARCHIVE, True, locked=True)
    cfg.archive_mandatory = True
    store = open_store(cfg.data_dir)
    for name, password in USERS.items():
        await add_user(store, name, password, "localhost")
    await store.close()
    async with Server(cfg) as srv:
        base = f"sip:127.0.0.1:{port}"
        async with user("alice", base) as alice, user("bob", base) as bob:
            await expect(bob, Registered)
            assert (await alice.message("sip:bob@localhost", "kept")).status == 200
            assert srv.store is not None
            # The archive breaks (its table is gone): nothing unrecorded passes.
            srv.store.run_blocking(lambda db: db.execute("DROP TABLE archive"))
            try:
                await alice.message("sip:bob@localhost", "must not pass")
            except RequestFailed as exc:
                assert exc.status == 503
            else:
                raise AssertionError("a MESSAGE went through without being archived")
            got = [e for e in await _drain(bob) if isinstance(e, MessageReceived)]
            assert [e.text for e in got] == ["kept"]
        # The refused MESSAGE, and the sign-outs after it, could not be written.
        assert srv.archive is not None and srv.archive.failures >= 1


async def _drain(peer: Peer) -> list[object]:
    out: list[object] = []
    while True:
        try:
            out.append(await peer.next_event(0.3))
        except TimeoutError:
            return out


def test_mandatory_archiving_turns_archiving_on(tmp_path: Path) -> None:
    """Mandatory archiving without the archive switch is not silently off:
    from the command line and from the configuration file alike."""
    from sipstack.cli import _server_config, build_parser
    from sipstack.policy import Feature
    from sipstack.server import load_config

    args = build_parser().parse_args(["server", "--archive-mandatory", "--data-dir", str(tmp_path)])
    cfg = _server_config(args)
    assert cfg.archive_mandatory and cfg.policy.effective(Feature.ARCHIVE)
    assert cfg.policy.explain(Feature.ARCHIVE) == "administrator (locked)"
    path = tmp_path / "server.toml"
    path.write_text("[archive]\nmandatory = true\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.archive_mandatory and cfg.policy.effective(Feature.ARCHIVE)
