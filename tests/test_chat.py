"""``sipstack chat`` as a real subprocess against ``sipstack server`` (also a
subprocess), with real Peers on the other side: scripted through a pipe,
typed at a pseudo-terminal with tab completion, and the plain-words errors
of a wrong password and an unknown user."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from peer_events import expect
from server_runner import RunningServer, server

from sipstack.chat import Completer, clean
from sipstack.presence import Availability, Presence
from sipstack.ua import (
    CallEnded,
    IncomingCall,
    MessageReceived,
    ParticipantLeft,
    Peer,
    PresenceChanged,
    Registered,
)

# Generous: the machine running the tests may be small and busy.
TIMEOUT = 20.0
USERS = {"alice": "a-pw", "bob": "b-pw", "carol": "c-pw"}


def user(name: str, srv: RunningServer) -> Peer:
    return Peer(
        f"sip:{name}@localhost", password=USERS[name], register=True,
        registrar=srv.uri, proxy=f"{srv.uri};lr",
    )  # fmt: skip


def chat_command(srv: RunningServer, name: str) -> list[str]:
    return [
        sys.executable, "-m", "sipstack", "chat", f"sip:{name}@localhost",
        "--server", f"127.0.0.1:{srv.port}",
    ]  # fmt: skip


def chat_env(password: str) -> dict[str, str]:
    return {**os.environ, "SIPSTACK_PASSWORD": password}


class Chat:
    """A running ``sipstack chat``: lines in, output searched as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process, output: Callable[[], str]) -> None:
        self.proc = proc
        self._output = output
        self._seen = 0  # expect() searches after the previous match

    @property
    def output(self) -> str:
        return self._output()

    async def wait_for(self, text: str, changed: asyncio.Event) -> str:
        """Wait until ``text`` appears after the last match; the output from
        the last match up to and including it."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            out = self.output
            at = out.find(text, self._seen)
            if at >= 0:
                seen, self._seen = self._seen, at + len(text)
                return out[seen : self._seen]
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.returncode is not None and not changed.is_set()):
                raise AssertionError(f"no {text!r} in the chat's output:\n{out}")
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(left, 1.0))

    async def stop(self) -> None:
        """Kill the client if it is still running (a failed test)."""
        if self.proc.returncode is None:
            self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), TIMEOUT)


class PipedChat(Chat):
    """``sipstack chat`` with its standard input and output on pipes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._chunks: list[str] = []
        self._changed = asyncio.Event()
        super().__init__(proc, lambda: "".join(self._chunks))
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(4096):
            self._chunks.append(chunk.decode("utf-8", "replace"))
            self._changed.set()
        self._changed.set()

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def expect(self, text: str) -> str:
        return await self.wait_for(text, self._changed)

    async def end_input(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    async def finished(self) -> int:
        rc = await asyncio.wait_for(self.proc.wait(), TIMEOUT)
        await asyncio.wait_for(self._reader, TIMEOUT)
        return rc


@asynccontextmanager
async def piped_chat(srv: RunningServer, name: str, password: str) -> AsyncIterator[PipedChat]:
    proc = await asyncio.create_subprocess_exec(
        *chat_command(srv, name), env=chat_env(password),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    chat = PipedChat(proc)
    try:
        yield chat
    finally:
        await chat.stop()
        chat._reader.cancel()


async def presence_of(peer: Peer, wanted: Callable[[Presence], bool]) -> Presence:
    """The first presence update ``peer`` gets that is ``wanted``."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        seen = await expect(peer, PresenceChanged, max(0.1, deadline - time.monotonic()))
        if wanted(seen.presence):
            return seen.presence


async def test_a_scripted_session_messages_presence_and_a_call(tmp_path: Path) -> None:
    async with server(tmp_path, USERS) as srv, user("bob", srv) as bob:
        await expect(bob, Registered)
        async with piped_chat(srv, "alice", USERS["alice"]) as alice:
            await alice.expect("signed in as sip:alice@localhost")
            # Signing in shows alice as available.
            await bob.presence.watch("sip:alice@localhost")
            await presence_of(bob, lambda p: p.availability is Availability.AVAILABLE)

            await alice.send("/msg bob hello bob")
            got = await expect(bob, MessageReceived, TIMEOUT)
            assert got.text == "hello bob" and got.sender == "sip:alice@localhost"
            await bob.message("sip:alice@localhost", "hi alice")
            await alice.expect("bob: hi alice")

            await alice.send("/status away")
            await alice.send("/note at lunch")
            await presence_of(
                bob, lambda p: p.availability is Availability.AWAY and p.note == "at lunch"
            )

            await alice.send("/call bob")
            incoming = await expect(bob, IncomingCall, TIMEOUT)
            assert incoming.call.remote == "sip:alice@localhost"
            await incoming.call.accept(b"v=0\r\n")
            await alice.expect("call to bob answered")
            await alice.send("/hangup")
            assert (await expect(bob, CallEnded, TIMEOUT)).reason == "bye"
            await alice.expect("call with bob ended")

            # A plain line goes to the last contact talked with.
            await alice.send("see you")
            assert (await expect(bob, MessageReceived, TIMEOUT)).text == "see you"
            await alice.send("/quit")
            assert await alice.finished() == 0
            assert "signed out" in alice.output
            assert "Traceback" not in alice.output
        # Signing out took alice's presence away.
        await presence_of(bob, lambda p: p.availability is Availability.OFFLINE)


async def test_presence_and_conversation_status_lines(tmp_path: Path) -> None:
    async with (
        server(tmp_path, USERS) as srv,
        user("bob", srv) as bob,
        user("carol", srv) as carol,
    ):
        await expect(bob, Registered)
        await bob.presence.publish(Presence("sip:bob@localhost", Availability.AVAILABLE))
        async with piped_chat(srv, "alice", USERS["alice"]) as alice:
            await alice.expect("signed in")
            await alice.send("/watch bob")
            await alice.expect("bob is available")
            await bob.presence.publish(
                Presence("sip:bob@localhost", Availability.BUSY, note="in a meeting")
            )
            await alice.expect('bob is busy — "in a meeting"')

            calling = asyncio.ensure_future(bob.call("sip:alice@localhost"))
            await alice.expect("bob is calling: /answer or /hangup")
            await alice.send("/answer")
            call = await asyncio.wait_for(calling, TIMEOUT)
            await alice.expect("call from bob answered")
            await call.hangup()
            await alice.expect("call with bob ended (bob hung up)")

            await alice.send("/access bob blocked")
            await alice.expect("bob is blocked")

            conv_bob = await asyncio.wait_for(bob.join("sip:conv-team@localhost"), TIMEOUT)
            await alice.send("/join conv-team")
            await alice.expect("you joined conv-team")
            await alice.expect("bob joined conv-team")
            await alice.send("hello team")
            said = await expect(bob, MessageReceived, TIMEOUT)
            assert said.conversation is conv_bob and said.text == "hello team"
            await conv_bob.send("hi alice")
            await alice.expect("[conv-team] bob: hi alice")
            await asyncio.wait_for(carol.join("sip:conv-team@localhost"), TIMEOUT)
            await alice.expect("carol joined conv-team")
            await alice.send("/leave")
            await alice.expect("you left conv-team")
            left = await expect(bob, ParticipantLeft, TIMEOUT)
            while left.participant.entity != "sip:alice@localhost":
                left = await expect(bob, ParticipantLeft, TIMEOUT)

            # Text from the network cannot drive the terminal.
            await bob.message("sip:alice@localhost", "bad\x1b[2Jnews")
            await alice.expect("bob: bad\ufffd[2Jnews")
            await alice.send("/quit")
            assert await alice.finished() == 0
            assert "Traceback" not in alice.output


async def test_wrong_password_is_said_in_plain_words(tmp_path: Path) -> None:
    async with server(tmp_path, USERS) as srv:
        proc = await asyncio.create_subprocess_exec(
            *chat_command(srv, "alice"), env=chat_env("not-the-password"),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 1
        text = err.decode()
        assert "sign-in failed: wrong user name or password" in text
        assert "Traceback" not in text + out.decode()


async def test_messages_to_unknown_and_absent_users_are_plain_errors(tmp_path: Path) -> None:
    async with server(tmp_path, USERS) as srv, piped_chat(srv, "alice", USERS["alice"]) as alice:
        await alice.expect("signed in")
        # Both lines, then the end of input: the client exits once both
        # sends have finished, each with its error.
        await alice.send("/msg nobody are you there?")
        await alice.send("/msg carol hello")
        await alice.send("/frobnicate")
        await alice.end_input()
        assert await alice.finished() == 0
        out = alice.output
        assert "error: not delivered to nobody: there is no user nobody" in out
        assert "error: not delivered to carol: carol is not signed in" in out
        assert "error: unknown command /frobnicate" in out
        assert "Traceback" not in out


class PtyChat(Chat):
    """``sipstack chat`` with its standard input and output on a
    pseudo-terminal (readline at work)."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int) -> None:
        self._buffer = bytearray()
        self._changed = asyncio.Event()
        self.master = master
        super().__init__(proc, lambda: self._buffer.decode("utf-8", "replace"))
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:  # EIO: the child closed its side
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
        self._buffer += data
        self._changed.set()

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    async def expect(self, text: str) -> str:
        return await self.wait_for(text, self._changed)


@asynccontextmanager
async def pty_chat(srv: RunningServer, name: str) -> AsyncIterator[tuple[PtyChat, int]]:
    """``sipstack chat`` on a new pseudo-terminal; yields the chat and the
    terminal's own side (kept open to look at its settings)."""
    master, slave = os.openpty()
    # A dumb terminal: readline sends no escape sequences to search around.
    env = {**chat_env(USERS[name]), "TERM": "dumb"}
    try:
        proc = await asyncio.create_subprocess_exec(
            *chat_command(srv, name), env=env, stdin=slave, stdout=slave, stderr=slave,
        )  # fmt: skip
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    chat = PtyChat(proc, master)
    try:
        yield chat, slave
    finally:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(master)
        await chat.stop()
        os.close(master)
        os.close(slave)


pty_only = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@pty_only
async def test_typed_at_a_terminal_with_tab_completion(tmp_path: Path) -> None:
    async with server(tmp_path, USERS) as srv, user("bob", srv) as bob:
        await expect(bob, Registered)
        await bob.presence.watch("sip:alice@localhost")
        async with pty_chat(srv, "alice") as (alice, _):
            await alice.expect("signed in as sip:alice@localhost")
            await alice.expect("> ")
            await bob.message("sip:alice@localhost", "are you there?")
            await alice.expect("bob: are you there?")
            # Tab completes the command, then the contact who wrote.
            alice.type("/ms\tb\tyes\r")
            got = await expect(bob, MessageReceived, TIMEOUT)
            assert got.text == "yes"
            alice.type("/stat\taw\t\r")
            await alice.expect("you are away")
            await presence_of(bob, lambda p: p.availability is Availability.AWAY)

            alice.type("/call bob\r")
            incoming = await expect(bob, IncomingCall, TIMEOUT)
            await incoming.call.accept(b"v=0\r\n")
            await alice.expect("call to bob answered")
            alice.type("/hangup\r")
            await alice.expect("call with bob ended")
            assert (await expect(bob, CallEnded, TIMEOUT)).reason == "bye"
            alice.type("/quit\r")
            assert await asyncio.wait_for(alice.proc.wait(), TIMEOUT) == 0
            await alice.expect("signed out")
            assert "Traceback" not in alice.output


@pty_only
async def test_ctrl_c_at_the_prompt_signs_out_and_gives_the_terminal_back(
    tmp_path: Path,
) -> None:
    import signal
    import termios

    async with server(tmp_path, USERS) as srv, user("bob", srv) as bob:
        await expect(bob, Registered)
        async with pty_chat(srv, "alice") as (alice, slave):
            before = termios.tcgetattr(slave)[3]
            await alice.expect("signed in")
            await bob.presence.watch("sip:alice@localhost")
            await presence_of(bob, lambda p: p.availability is Availability.AVAILABLE)
            await alice.expect("> ")
            alice.type("half a li")  # readline is editing a line
            await alice.expect("half a li")
            # What the terminal's Ctrl-C sends to its foreground process.
            alice.proc.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(alice.proc.wait(), TIMEOUT) == 0
            await alice.expect("signed out")
            after = termios.tcgetattr(slave)[3]
            echo_and_lines = termios.ECHO | termios.ICANON
            assert after & echo_and_lines == before & echo_and_lines == echo_and_lines
            # A graceful sign-out: bob sees alice go offline.
            await presence_of(bob, lambda p: p.availability is Availability.OFFLINE)
            assert "Traceback" not in alice.output


def test_completion_of_commands_contacts_and_levels() -> None:
    completer = Completer(lambda: ("bob", "bob@example.com", "carol"))
    assert completer.candidates("/st") == ["/status "]
    assert completer.candidates("/status a") == ["available ", "away "]
    assert completer.candidates("/msg b") == ["bob ", "bob@example.com "]
    assert completer.candidates("/access carol  p") == ["public ", "personal "]
    assert completer.candidates("/history o") == ["on ", "off "]
    assert completer.candidates("hello b") == []  # plain text is not completed
    assert completer.candidates("/call ") == ["bob ", "bob@example.com ", "carol "]


def test_remote_text_is_made_safe_for_a_terminal() -> None:
    assert clean("a\x1b]0;owned\x07b\r\nc\x9bd\te") == "a\ufffd]0;owned\ufffdb\nc\ufffdd\te"
