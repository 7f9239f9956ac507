"""Every example runs (as a subprocess, with a timeout) and says what it
should: examples that rot fail the suite.  The server examples run against
a real ``sipstack server`` subprocess on a free port; ``sipstack demo``
runs on its own."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from server_runner import RunningServer, server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# Generous: two shared cores, and each run starts a Python process.
TIMEOUT = 120.0
PASSWORD = "example-password"
USERS = dict.fromkeys(("alice", "bob", "carol"), PASSWORD)


def run(name: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


async def run_against(srv: RunningServer, name: str, *args: str, status: int = 0) -> str:
    """Run ``examples/name`` against ``srv`` (the password in the
    environment, as a user would); its output, once it exited ``status``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SIPSTACK_PASSWORD=PASSWORD)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / name), "--server", f"127.0.0.1:{srv.port}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == status, err.decode()
    if status == 0:
        assert not err, err.decode()  # no traceback, no error logged
    return out.decode()


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server with alice, bob and carol, archiving off (the default)."""
    async with server(tmp_path, USERS) as running:
        yield running


@pytest.fixture
async def archiving_srv(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """The same, started by an administrator with ``--archive``."""
    async with server(tmp_path, USERS, extra=["--archive"]) as running:
        yield running


def test_two_peers_chat() -> None:
    out = run("two_peers_chat.py")
    assert "bob got from sip:alice@127.0.0.1: Hi Bob, lunch at noon?" in out
    assert "alice got from sip:bob@127.0.0.1: Sure, see you there." in out


def test_each_example_says_what_it_shows_and_how_to_run_it() -> None:
    for path in EXAMPLES.glob("[!_]*.py"):
        text = path.read_text(encoding="utf-8")
        assert text.startswith('"""'), f"{path.name} has no docstring"
        if "--server" in text:
            assert f"python examples/{path.name} --server" in text, path.name
            assert "sipstack server --data-dir" in text, path.name


async def test_presence(srv: RunningServer) -> None:
    out = await run_against(srv, "presence.py")
    lines = out.splitlines()
    assert lines[0].startswith("alice published: away, note: At a conference this week")
    # Company: no mobile phone, no out-of-office message.
    assert (
        "bob sees (company): away, note: At a conference this week, title: Engineer, "
        "work: +1 555 0100, out of office"
    ) in lines
    assert "bob sees (public): away" in lines
    [personal] = [x for x in lines if x.startswith("bob sees (personal)")]
    assert "mobile: +1 555 0101" in personal and "(Back on Monday" in personal
    assert "bob sees (blocked): offline" in lines


async def test_call(srv: RunningServer) -> None:
    out = await run_against(srv, "call.py")
    assert out.splitlines() == [
        "alice called bob: answered, audio sendrecv",
        "alice put the call on hold: bob is offered audio sendonly",
        "alice resumed the call: bob is offered audio sendrecv",
        "alice hung up: bob's call ended (bye, by_remote=True)",
        "alice shares her desktop with bob: answered, TCP/RDP",
        "alice granted control: bob controls her desktop",
        "alice took control back: bob only watches her desktop",
        "alice stopped sharing: bob's session ended (bye)",
    ]


async def test_conversation(srv: RunningServer) -> None:
    out = await run_against(srv, "conversation.py")
    lines = out.splitlines()
    for expected in (
        "carol joined sip:conv-example@localhost",
        "  alice sees carol join",
        "  bob sees carol join",
        "  bob hears alice: Hello both, shall we plan the release?",
        "  carol hears alice: Hello both, shall we plan the release?",
        "  alice hears carol: Yes, but I have to go in a minute.",
        "  bob hears carol: Yes, but I have to go in a minute.",
        "carol left (bye)",
        "  alice sees carol leave; now: alice, bob",
        "  bob sees carol leave; now: alice, bob",
        "  alice hears bob: Just us then: Friday?",
    ):
        assert expected in lines, expected


async def test_custom_interceptor(srv: RunningServer) -> None:
    out = await run_against(srv, "custom_interceptor.py")
    assert out.splitlines() == [
        "bob got 'before the interceptors'",
        "  User-Agent: sipstack",
        "  X-Example-Tag: (absent)",
        "alice added her two interceptors",
        "bob got 'after the interceptors'",
        "  User-Agent: redacted",
        "  X-Example-Tag: sent-through-an-interceptor",
    ]


async def test_client_log(srv: RunningServer, tmp_path: Path) -> None:
    log = tmp_path / "alice-sip.jsonl"
    out = await run_against(srv, "client_log.py", "--log", str(log))
    assert "alice's client log: off (default)" in out
    assert "alice turns it on: on (user)" in out
    assert re.search(r"-> 127\.0\.0\.1:\d+: MESSAGE sip:bob@localhost SIP/2.0", out)
    assert f"    Route: <sip:127.0.0.1:{srv.port};lr>" in out
    assert "    body: 48 bytes text/plain;charset=utf-8" in out
    assert "the message text is in neither alice-sip.jsonl nor alice-sip.log" in out
    # The example checked the files; check them (and what it printed) again.
    secret = b"launch code"
    assert secret not in log.read_bytes() and secret not in log.with_suffix(".log").read_bytes()
    assert secret.decode() not in out
    assert b"MESSAGE sip:bob@localhost" in log.read_bytes()


async def test_archive(archiving_srv: RunningServer) -> None:
    data = str(archiving_srv.data_dir)
    out = await run_against(archiving_srv, "archive.py", "--data-dir", data)
    assert re.search(r"sipstack archive search --text \w+ finds 2 records:", out)
    assert re.search(r"message sip:alice@localhost -> sip:bob@localhost: Morning Bob", out)
    assert re.search(r"message sip:bob@localhost -> sip:alice@localhost: Thanks, I will", out)
    assert "sipstack archive search --user sip:alice@localhost: 1 sign-ins" in out


async def test_archive_finds_nothing_while_archiving_is_off(srv: RunningServer) -> None:
    out = await run_against(srv, "archive.py", "--data-dir", str(srv.data_dir), status=1)
    assert re.search(r"--text \w+ finds 0 records:", out)
    assert "is the server running with --archive?" in out


def test_sipstack_demo() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sipstack", "demo"],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(
        r"A server is running on 127\.0\.0\.1:\d+ for the domain localhost", lines[0]
    )
    for expected in (
        "alice and bob signed in with their passwords",
        '  bob receives from Alice: "Hi Bob, do you have a minute?"',
        '  alice receives from Bob: "Sure, call me."',
        "  bob watches alice's presence: she is available",
        '  bob sees that alice is now busy, "Preparing the demo"',
        "  bob's phone rings: a call from sip:alice@localhost",
        "  alice hangs up; bob's call has ended (by alice)",
        "alice and bob signed out",
        "the server stopped",
    ):
        assert expected in lines, expected
    assert lines[-1] == "done: the temporary data is removed"
    assert done.stderr == ""
