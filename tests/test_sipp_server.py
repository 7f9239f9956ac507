"""SIPp drives ``sipstack server`` (a real subprocess): SIPp registers with
the digest challenge answered by itself, receives what the proxy relays to
it (MESSAGE, INVITE/ACK/BYE), and watches a user at the presence server
(SUBSCRIBE/NOTIFY) — with 0 failed calls."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest
from peer_events import expect
from server_runner import RunningServer, server
from sipp_runner import SippUAS, Transport, requires_sipp, run_sipp_uac, scenario, sipp_uas

from sipstack.presence import Availability, Presence
from sipstack.ua import CallState, Peer, Registered

pytestmark = requires_sipp

TRANSPORTS: list[Transport] = ["udp", "tcp"]
HOST = "127.0.0.1"
DEADLINE = 30.0
# SIPp answers only MD5 and takes the first challenge it sees: MD5 first
# (sipstack peers still answer the strongest offered).
MD5_FIRST = '[registrar]\ndigest_algorithms = ["MD5", "SHA-256"]\n'


async def sipp_registers(
    srv: RunningServer, user: str, password: str, contact_port: int, transport: Transport
) -> None:
    result = await run_sipp_uac(
        scenario("register_auth_uac.xml"), HOST, srv.port, transport=transport, calls=1,
        extra_args=["-au", user, "-ap", password, "-set", "user", user,
                    "-set", "contact_port", str(contact_port)],
    )  # fmt: skip
    result.assert_ok(1)


def alice(srv: RunningServer, transport: Transport) -> Peer:
    return Peer(
        "sip:alice@localhost", password="a", register=True, transport=transport,
        registrar=f"{srv.uri};transport={transport}", proxy=f"{srv.uri};transport={transport};lr",
        listen=[f"{transport}:{HOST}:0"],
    )  # fmt: skip


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sipp_registers_with_digest(transport: Transport, tmp_path: Path) -> None:
    async def run() -> None:
        async with server(tmp_path, {"bob": "b"}, MD5_FIRST) as srv:
            await sipp_registers(srv, "bob", "b", 5999, transport)
            with contextlib.closing(sqlite3.connect(srv.data_dir / "sipstack.db")) as db:
                [(contact,)] = db.execute("SELECT contact FROM bindings").fetchall()
            assert ":5999" in contact

    await asyncio.wait_for(run(), DEADLINE)


async def _relay(
    tmp_path: Path, transport: Transport, uas_scenario: str, calls: int, work: object
) -> None:
    async with (
        server(tmp_path, {"alice": "a", "bob": "b"}, MD5_FIRST) as srv,
        sipp_uas(scenario(uas_scenario), transport=transport, calls=calls, timeout=DEADLINE) as uas,
    ):
        await sipp_registers(srv, "bob", "b", uas.port, transport)
        async with alice(srv, transport) as peer:
            await expect(peer, Registered)
            assert callable(work)
            await work(peer, uas)
        result = await uas.stop()
    result.assert_ok(calls)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_message_relayed_to_a_registered_sipp(transport: Transport, tmp_path: Path) -> None:
    async def work(peer: Peer, uas: SippUAS) -> None:
        for n in range(5):
            ok = await peer.message("sip:bob@localhost", f"relayed {n}")
            assert ok.status == 200

    await asyncio.wait_for(_relay(tmp_path, transport, "message_uas.xml", 5, work), DEADLINE)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_invite_and_bye_through_the_proxy(transport: Transport, tmp_path: Path) -> None:
    async def work(peer: Peer, uas: SippUAS) -> None:
        for _ in range(2):
            call = await peer.call("sip:bob@localhost", b"v=0\r\n")
            assert call.state is CallState.ACTIVE and call.dialog is not None
            assert call.dialog.route_set  # the server stays in the dialog
            await call.hangup()

    await asyncio.wait_for(_relay(tmp_path, transport, "invite_uas.xml", 2, work), DEADLINE)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sipp_watches_a_user_at_the_presence_server(
    transport: Transport, tmp_path: Path
) -> None:
    calls = 2
    # SIPp is a watcher from another domain: anonymous inbound lets it in,
    # at the Public level.
    config = MD5_FIRST + "[policy]\nanonymous_inbound = true\n"

    async def run() -> None:
        async with (
            server(tmp_path, {"alice": "a"}, config) as srv,
            alice(srv, transport) as peer,
        ):
            await expect(peer, Registered)
            doc = Presence("sip:alice@localhost", Availability.BUSY, note="secret plans")
            await peer.presence.publish(doc)
            result = await run_sipp_uac(
                scenario("subscribe_uac.xml"), HOST, srv.port, transport=transport,
                calls=calls, rate=10, extra_args=["-s", "alice"],
            )  # fmt: skip
        result.assert_ok(calls)

    await asyncio.wait_for(run(), DEADLINE)
