"""``sipstack server`` as a real subprocess on 127.0.0.1 with accounts made
by ``sipstack users``: peers sign in with digest, message and call each
other through its proxy, and meet in a conversation; hostile requests get
the right 4xx."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from pathlib import Path

import pytest
from peer_events import expect
from server_runner import RunningServer, server, sipstack

from sipstack.auth import DigestClient
from sipstack.endpoint import Endpoint
from sipstack.message import Request, make_request
from sipstack.ua import (
    AuthenticationFailed,
    CallEnded,
    IncomingCall,
    MessageReceived,
    ParticipantJoined,
    Peer,
    Registered,
    RequestFailed,
)

TIMEOUT = 10.0


def user(name: str, srv: RunningServer, password: str | None = None, **kw: object) -> Peer:
    return Peer(
        f"sip:{name}@localhost",
        password=password,
        registrar=srv.uri,
        proxy=f"{srv.uri};lr",
        register=True,
        **kw,  # type: ignore[arg-type]
    )


async def test_server_prints_where_it_listens_and_stores_no_password(tmp_path: Path) -> None:
    async with server(tmp_path, {"alice": "wonderland"}) as srv:
        port = srv.port
        assert f"listening on udp:127.0.0.1:{port}" in srv.lines
        assert f"listening on tcp:127.0.0.1:{port}" in srv.lines
        assert f"listening on tls:127.0.0.1:{port + 1}" in srv.lines
        listed = sipstack("users", "list", "--data-dir", str(srv.data_dir))
        assert listed.stdout.strip() == "alice@localhost"
    raw = (srv.data_dir / "sipstack.db").read_bytes()
    assert b"wonderland" not in raw
    with contextlib.closing(sqlite3.connect(srv.data_dir / "sipstack.db")) as db:
        [(ha1s,)] = db.execute("SELECT ha1 FROM accounts").fetchall()
    assert "SHA-256" in ha1s and "MD5" in ha1s


async def test_two_peers_sign_in_message_and_call_through_the_server(tmp_path: Path) -> None:
    async with (
        server(tmp_path, {"alice": "a-pw", "bob": "b-pw"}) as srv,
        user("alice", srv, "a-pw") as alice,
        user("bob", srv, "b-pw") as bob,
    ):
        await expect(alice, Registered)
        await expect(bob, Registered)
        ok = await asyncio.wait_for(alice.message("sip:bob@localhost", "hi bob"), TIMEOUT)
        assert ok.status == 200
        got = await expect(bob, MessageReceived)
        assert got.text == "hi bob" and got.sender == "sip:alice@localhost"

        async def answer() -> None:
            incoming = await expect(bob, IncomingCall)
            await incoming.call.accept(b"v=0\r\n")

        answering = asyncio.ensure_future(answer())
        call = await asyncio.wait_for(alice.call("sip:bob@localhost", b"v=0\r\n"), TIMEOUT)
        await asyncio.wait_for(answering, TIMEOUT)
        # In-dialog requests follow the Record-Route through the server.
        assert call.dialog is not None and call.dialog.route_set
        await call.message("inside the call")
        assert (await expect(bob, MessageReceived)).text == "inside the call"
        await call.hangup()
        assert (await expect(bob, CallEnded)).reason == "bye"


async def test_conversation_on_the_server(tmp_path: Path) -> None:
    async with (
        server(tmp_path, {"alice": "a", "bob": "b"}) as srv,
        user("alice", srv, "a") as alice,
        user("bob", srv, "b") as bob,
    ):
        conv_a = await asyncio.wait_for(alice.join("sip:conv-team@localhost"), TIMEOUT)
        conv_b = await asyncio.wait_for(bob.join("sip:conv-team@localhost"), TIMEOUT)
        joined = await expect(alice, ParticipantJoined)
        while joined.participant.entity != "sip:bob@localhost":
            joined = await expect(alice, ParticipantJoined)
        await conv_b.send("hello team")
        said = await expect(alice, MessageReceived)
        assert said.conversation is conv_a and said.sender == "sip:bob@localhost"


async def test_wrong_password_and_unknown_user_and_not_signed_in(tmp_path: Path) -> None:
    async with server(tmp_path, {"alice": "right", "bob": "b"}) as srv:
        with pytest.raises(AuthenticationFailed):
            async with user("alice", srv, "wrong"):
                pass
        async with user("alice", srv, "right") as alice:
            with pytest.raises(RequestFailed) as info:
                await alice.message("sip:nobody@localhost", "x")
            assert info.value.status == 404
            with pytest.raises(RequestFailed) as info:
                await alice.message("sip:bob@localhost", "x")  # bob is not signed in
            assert info.value.status == 480
            with pytest.raises(RequestFailed) as info:
                await alice.message("sip:carol@elsewhere.example", "x")
            assert info.value.status == 403


async def test_hostile_requests_get_4xx_and_nothing_is_stored(tmp_path: Path) -> None:
    async with server(tmp_path, {"alice": "pw"}) as srv, Endpoint(["udp:127.0.0.1:0"]) as ep:
        # An unauthenticated REGISTER is challenged; nothing is bound.
        reg = make_request(
            "REGISTER", "sip:localhost", from_addr="<sip:alice@localhost>",
            to_addr="<sip:alice@localhost>", contact="<sip:evil@192.0.2.66>",
        )  # fmt: skip
        from sipstack.transport import Destination

        dest = Destination("UDP", "127.0.0.1", srv.port)
        assert (await ep.request(reg, dest)).status == 401
        # A looped request (Max-Forwards 0) is 483.
        msg = make_request(
            "MESSAGE", "sip:alice@localhost", from_addr="<sip:x@localhost>",
            to_addr="<sip:alice@localhost>", max_forwards=0, body=b"loop",
        )  # fmt: skip
        assert (await ep.request(msg, dest)).status == 483
        # A MESSAGE claiming to be a local user without credentials: 407.
        spoof = make_request(
            "MESSAGE", "sip:alice@localhost", from_addr="<sip:alice@localhost>",
            to_addr="<sip:alice@localhost>", body=b"spoof",
        )  # fmt: skip
        assert (await ep.request(spoof, dest)).status == 407
        # Replayed credentials (the same nonce and nonce count again) are
        # refused, with stale=true (the user knows the password).
        client = DigestClient()
        client.add("alice", "pw")
        first = make_request(
            "REGISTER", "sip:localhost", from_addr="<sip:alice@localhost>",
            to_addr="<sip:alice@localhost>", contact="<sip:alice@192.0.2.5>", call_id="replay",
        )  # fmt: skip
        challenge = await ep.request(first, dest)
        creds = client.authorize(first, challenge)

        def again(cseq: int) -> Request:
            req = make_request(
                "REGISTER", "sip:localhost", from_addr="<sip:alice@localhost>",
                to_addr="<sip:alice@localhost>", contact="<sip:alice@192.0.2.5>",
                call_id="replay", cseq=cseq, headers=creds,
            )  # fmt: skip
            return req

        assert (await ep.request(again(2), dest)).status == 200
        replayed = await ep.request(again(3), dest)
        assert replayed.status == 401 and "stale=true" in (
            replayed.headers.get("WWW-Authenticate") or ""
        )
        # A wrong password: 401 again, not stale.
        wrong = DigestClient()
        wrong.add("alice", "guess")
        bad = again(4)
        bad.headers.remove("Authorization")
        for name, value in wrong.authorize(first, challenge):
            bad.headers.add(name, value)
        refused = await ep.request(bad, dest)
        assert refused.status == 401 and "stale=true" not in str(
            refused.headers.get("WWW-Authenticate")
        )
        # Malformed (a CSeq that is not a number): 400.
        raw = bytes(
            make_request(
                "MESSAGE",
                "sip:alice@localhost",
                from_addr="<sip:x@y>",
                to_addr="<sip:alice@localhost>",
                via="SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKm;rport",  # answer the source
            )
        )
        broken = raw.replace(b"CSeq: 1 MESSAGE", b"CSeq: one MESSAGE")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.bind(("127.0.0.1", 0))
            sock.sendto(broken, ("127.0.0.1", srv.port))
            answer = sock.recv(65535)
            assert answer.startswith(b"SIP/2.0 400 ")
            # Oversize: a 60 kB datagram is refused (413/513) or dropped — and
            # the server goes on.
            huge = raw.replace(
                b"Content-Length: 0", b"X-Pad: " + b"a" * 60000 + b"\r\nContent-Length: 0"
            )
            sock.sendto(huge, ("127.0.0.1", srv.port))
        # Still alive and answering.
        alive = make_request(
            "OPTIONS", f"sip:127.0.0.1:{srv.port}", from_addr="<sip:x@y>", to_addr="<sip:z@y>"
        )
        assert (await ep.request(alive, dest)).status in (200, 407)
    with contextlib.closing(sqlite3.connect(srv.data_dir / "sipstack.db")) as db:
        # Only alice's own authenticated binding; nothing from the refused ones.
        assert db.execute("SELECT contact FROM bindings").fetchall() == [("<sip:alice@192.0.2.5>",)]


async def test_a_strict_router_upstream_is_understood(tmp_path: Path) -> None:
    """§16.4: a Request-URI naming the server and the real target as the
    last Route (an RFC 2543 strict router before us) is forwarded there."""
    async with (
        server(tmp_path, {"bob": "b"}) as srv,
        user("bob", srv, "b") as bob,
        Endpoint(["udp:127.0.0.1:0"]) as ep,
    ):
        bob_port = bob.endpoint.listener("UDP").local[1]
        msg = make_request(
            "MESSAGE", f"sip:127.0.0.1:{srv.port}", from_addr="<sip:x@elsewhere.example>;tag=x1",
            to_addr="<sip:bob@localhost>;tag=nodialog",
            headers=[("Route", f"<sip:bob@127.0.0.1:{bob_port}>")], body=b"strict",
        )  # fmt: skip
        from sipstack.transport import Destination

        resp = await ep.request(msg, Destination("UDP", "127.0.0.1", srv.port))
        # bob got it (and knows no such dialog): the server forwarded it.
        assert resp.status == 481


async def test_forking_to_two_devices_and_cancel_passed_on(tmp_path: Path) -> None:
    """Bob signed in on two devices: a call rings both (parallel forking);
    the one that answers gets the call, the other is cancelled (§16.7). A
    caller who gives up cancels every branch (§16.10)."""
    async with (
        server(tmp_path, {"alice": "a", "bob": "b"}) as srv,
        user("alice", srv, "a") as alice,
        user("bob", srv, "b") as desk,
        user("bob", srv, "b") as phone,
    ):
        await expect(desk, Registered)
        await expect(phone, Registered)

        async def desk_answers() -> None:
            ringing = await expect(desk, IncomingCall)
            await ringing.call.accept(b"v=0\r\n")

        answering = asyncio.ensure_future(desk_answers())
        call = await asyncio.wait_for(alice.call("sip:bob@localhost", b"v=0\r\n"), TIMEOUT)
        await asyncio.wait_for(answering, TIMEOUT)
        assert (await expect(phone, IncomingCall)).call is not None
        missed = await expect(phone, CallEnded)
        assert missed.reason == "cancelled" and missed.by_remote
        await call.hangup()
        assert (await expect(desk, CallEnded)).reason == "bye"

        # Now alice gives up while both ring: both branches are cancelled.
        calling = asyncio.ensure_future(alice.call("sip:bob@localhost", b"v=0\r\n"))
        await expect(desk, IncomingCall)
        await expect(phone, IncomingCall)
        calling.cancel()
        for device in (desk, phone):
            ended = await expect(device, CallEnded)
            assert ended.reason == "cancelled"
        with contextlib.suppress(asyncio.CancelledError):
            await calling


async def test_a_loop_between_two_servers_is_482_not_483(tmp_path: Path) -> None:
    """§16.3 step 4: bob's binding at each server points at the other one.
    The request comes back to the first server unchanged, carrying its own
    Via with the same loop hash: 482 Loop Detected, long before Max-Forwards
    would run out (483)."""
    config = "[policy]\nanonymous_inbound = true\n"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    async with (
        server(tmp_path / "a", {"bob": "b"}, config) as a,
        server(tmp_path / "b", {"bob": "b"}, config) as b,
        Endpoint(["udp:127.0.0.1:0"]) as ep,
    ):
        from sipstack.transport import Destination

        for here, there in ((a, b), (b, a)):
            dest = Destination("UDP", "127.0.0.1", here.port)
            client = DigestClient()
            client.add("bob", "b")
            reg = make_request(
                "REGISTER", "sip:localhost", from_addr="<sip:bob@localhost>",
                to_addr="<sip:bob@localhost>", contact=f"<sip:bob@127.0.0.1:{there.port}>",
            )  # fmt: skip
            challenge = await ep.request(reg, dest)
            retry = make_request(
                "REGISTER", "sip:localhost", from_addr="<sip:bob@localhost>",
                to_addr="<sip:bob@localhost>", contact=f"<sip:bob@127.0.0.1:{there.port}>",
                call_id=reg.call_id, cseq=2, headers=client.authorize(reg, challenge),
            )  # fmt: skip
            assert (await ep.request(retry, dest)).status == 200
        msg = make_request(
            "MESSAGE", f"sip:bob@127.0.0.1:{a.port}", from_addr="<sip:x@elsewhere.example>",
            to_addr="<sip:bob@localhost>", body=b"round and round",
        )  # fmt: skip
        answer = await asyncio.wait_for(
            ep.request(msg, Destination("UDP", "127.0.0.1", a.port)), TIMEOUT
        )
        assert answer.status == 482
