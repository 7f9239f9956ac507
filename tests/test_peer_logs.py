"""The call log (on by default, never content), usage statistics (off by
default, never a name) and the defaults of a fresh peer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from peer_events import address, expect

from sipstack.endpoint import HookPoint, MessageInfo
from sipstack.interceptors import Statistics
from sipstack.message import make_request, make_response, parse
from sipstack.policy import Feature, Policy
from sipstack.ua import CallFailed, IncomingCall, MessageReceived, Peer

TIMEOUT = 5.0


async def test_a_fresh_peer_keeps_a_call_log_and_nothing_else(tmp_path: Path) -> None:
    policy = Policy()
    assert policy.effective(Feature.CALL_LOG)
    for feature in (Feature.CLIENT_LOG, Feature.ARCHIVE, Feature.STATISTICS, Feature.HISTORY):
        assert not policy.effective(feature)
    async with (
        Peer("sip:alice@127.0.0.1", data_dir=tmp_path / "alice") as alice,
        Peer("sip:bob@127.0.0.1") as bob,
    ):
        await alice.message(address(bob, "bob"), "hello")
    assert not (tmp_path / "alice" / "sip.jsonl").exists()  # no SIP log
    assert not (tmp_path / "alice" / "stats.json").exists()  # no statistics
    assert alice.statistics.snapshot()["counts"] == {}


async def test_call_log_records_calls_without_content(tmp_path: Path) -> None:
    offer = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=secret-session\r\nt=0 0\r\n"
    async with (
        Peer("sip:alice@127.0.0.1", data_dir=tmp_path / "alice") as alice,
        Peer("sip:bob@127.0.0.1", data_dir=tmp_path / "bob") as bob,
    ):

        async def answer_then_decline() -> None:
            first = await expect(bob, IncomingCall)
            await first.call.accept(offer)
            second = await expect(bob, IncomingCall)
            await second.call.reject(603)

        task = asyncio.ensure_future(answer_then_decline())
        call = await asyncio.wait_for(alice.call(address(bob, "bob"), offer), TIMEOUT)
        await call.hangup()
        with contextlib.suppress(CallFailed):
            await asyncio.wait_for(alice.call(address(bob, "bob"), offer), TIMEOUT)
        await task
        mine = await alice.call_log()
        theirs = await bob.call_log()
    assert [(r.direction, r.outcome) for r in mine] == [
        ("outgoing", "declined"),
        ("outgoing", "answered"),
    ]
    assert mine[1].remote.startswith("sip:bob@") and mine[1].duration >= 0.0
    assert mine[1].answered is not None and mine[0].answered is None
    assert [(r.direction, r.outcome) for r in theirs] == [
        ("incoming", "declined"),
        ("incoming", "answered"),
    ]
    assert b"secret-session" not in (tmp_path / "alice" / "sipstack.db").read_bytes()


async def test_the_user_may_turn_the_call_log_off(tmp_path: Path) -> None:
    async with Peer("sip:alice@127.0.0.1") as alice, Peer("sip:bob@127.0.0.1") as bob:
        alice.policy.set_user(Feature.CALL_LOG, False)

        async def answer() -> None:
            await (await expect(bob, IncomingCall)).call.reject(486)

        task = asyncio.ensure_future(answer())
        with contextlib.suppress(CallFailed):
            await asyncio.wait_for(alice.call(address(bob, "bob")), TIMEOUT)
        await task
        assert await alice.call_log() == []


async def test_opted_in_statistics_count_and_are_exported(tmp_path: Path) -> None:
    async with (
        Peer("sip:alice@127.0.0.1", data_dir=tmp_path / "a") as alice,
        Peer("sip:bob@127.0.0.1") as bob,
    ):
        alice.policy.set_user(Feature.STATISTICS, True)
        for _ in range(3):
            await alice.message(address(bob, "bob"), "counted, not kept")
    saved = json.loads((tmp_path / "a" / "stats.json").read_text())
    assert saved["counts"]["requests.out.MESSAGE"] == 3
    assert saved["counts"]["responses.in.200"] == 3
    assert sum(saved["latency_ms"]["by_method"]["MESSAGE"]) == 3
    text = json.dumps(saved)
    assert "alice" not in text and "bob" not in text and "127.0.0.1" not in text
    shown = subprocess.run(
        [sys.executable, "-m", "sipstack", "stats", "--data-dir", str(tmp_path / "a")],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert re.search(r"^requests\.out\.MESSAGE +3$", shown.stdout, re.M)
    assert "latency MESSAGE:" in shown.stdout


# Names that cannot occur in the statistics' own vocabulary ("zq" appears
# in no key), so any occurrence would be a leak.
_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=3, max_size=12).map(
    lambda s: "zq" + s
)


@settings(max_examples=100)
@given(
    user=_NAMES,
    host=_NAMES,
    display=_NAMES,
    status=st.integers(100, 699),
    method=st.one_of(st.sampled_from(["MESSAGE", "INVITE", "OPTIONS"]), _NAMES.map(str.upper)),
)
def test_statistics_contain_no_uri_user_host_or_address(
    user: str, host: str, display: str, status: int, method: str
) -> None:
    stats = Statistics()
    addr = (f"198.51.{len(user)}.{len(host) + 100}", 5060)
    req = make_request(
        method, f"sip:{user}@{host}.example", from_addr=f'"{display}" <sip:{user}@{host}.example>',
        to_addr=f"<sip:{user}@{host}.example>", via=f"SIP/2.0/UDP {host}.example;branch=z9hG4bK{user}",
    )  # fmt: skip
    parsed = parse(bytes(req))
    out = MessageInfo(HookPoint.WIRE_OUT, "out", "UDP", ("127.0.0.1", 5060), addr, time.time())
    stats.on_message(parsed, out)
    resp = parse(bytes(make_response(parsed, status)))  # type: ignore[arg-type]
    back = MessageInfo(HookPoint.WIRE_IN, "in", "UDP", ("127.0.0.1", 5060), addr, time.time())
    stats.on_message(resp, back)
    text = json.dumps(stats.snapshot()).lower()
    assert stats.counts  # it did count
    for secret in (user, host, display, addr[0], "zq"):
        assert secret.lower() not in text, secret


async def test_history_is_off_by_default_and_tells_the_other_side_once(tmp_path: Path) -> None:
    async with (
        Peer("sip:alice@127.0.0.1", data_dir=tmp_path / "a") as alice,
        Peer("sip:bob@127.0.0.1") as bob,
    ):
        await alice.message(address(bob, "bob"), "unsaved")
        first = await expect(bob, MessageReceived)
        assert first.text == "unsaved" and not first.saved
        assert await alice.history(address(bob, "bob")) == []
        alice.policy.set_user(Feature.HISTORY, True)
        await alice.message(address(bob, "bob"), "one")
        await alice.message(address(bob, "bob"), "two")
        got = [await expect(bob, MessageReceived) for _ in range(3)]
        assert [m.text for m in got] == [
            "[sip:alice@127.0.0.1 is saving this conversation]",
            "one",
            "two",
        ]
        assert [m.saved for m in got] == [False, True, True]
        await bob.message(address(alice, "alice"), "reply")
        await expect(alice, MessageReceived)
        saved = await alice.history(address(bob, "bob"))
    assert [(e.direction, e.body) for e in saved] == [
        ("out", b"one"),
        ("out", b"two"),
        ("in", b"reply"),
    ]
