"""The Peer's policy and client SIP log: off by default, switched on by the
user, or pushed on (and locked) by the server's administrator in the
REGISTER response — and never a body in the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from peer_events import address, expect
from server_runner import server

from sipstack.policy import Feature, PolicyLocked, PolicyRefused
from sipstack.ua import MessageReceived, Peer, Registered

TIMEOUT = 10.0
SECRET = "the body must never reach the log"


async def test_client_log_is_off_by_default_and_the_user_may_turn_it_on(tmp_path: Path) -> None:
    log = tmp_path / "alice.jsonl"
    async with Peer("sip:alice@127.0.0.1", sip_log=log) as alice, Peer("sip:bob@127.0.0.1") as bob:
        assert not alice.policy.effective(Feature.CLIENT_LOG)
        await alice.message(address(bob, "bob"), SECRET)
        await expect(bob, MessageReceived)
        assert not log.exists()  # nothing recorded while off
        alice.policy.set_user(Feature.CLIENT_LOG, True)
        await alice.message(address(bob, "bob"), SECRET)
        await expect(bob, MessageReceived)
        with pytest.raises(PolicyRefused):
            alice.policy.set_user(Feature.ARCHIVE, True)  # only an administrator
    records = [json.loads(line) for line in log.read_text().splitlines()]
    starts = [r["start_line"] for r in records if "start_line" in r]
    assert any(s.startswith("MESSAGE ") for s in starts) and "SIP/2.0 200 OK" in starts
    for path in (log, log.with_suffix(".log")):
        assert SECRET.encode() not in path.read_bytes()


async def test_the_administrator_turns_it_on_and_locks_it(tmp_path: Path) -> None:
    config = "[policy.features]\nclient-log = { value = true, locked = true }\n"
    log = tmp_path / "bob.jsonl"
    async with server(tmp_path, {"bob": "b"}, config) as srv:
        bob = Peer(
            "sip:bob@localhost", password="b", register=True, registrar=srv.uri,
            proxy=f"{srv.uri};lr", sip_log=log,
        )  # fmt: skip
        async with bob:
            await expect(bob, Registered)
            assert bob.policy.effective(Feature.CLIENT_LOG)
            assert bob.policy.explain(Feature.CLIENT_LOG) == "administrator (locked)"
            with pytest.raises(PolicyLocked, match="locked"):
                bob.policy.set_user(Feature.CLIENT_LOG, False)
            await bob.presence.publish(bob.presence.document)
    text = log.read_text()
    assert '"start_line": "PUBLISH sip:bob@localhost SIP/2.0"' in text
    assert '"event": "Registered"' in text and '"event": "Unregistered"' in text
    assert '"Digest username=\\"bob\\", ***"' in text  # credentials masked
    assert "response=" not in text
