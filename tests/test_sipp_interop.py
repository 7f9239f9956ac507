"""Interoperability with SIPp: SIPp as an independent peer of sipstack's Endpoint.

Both directions, over UDP and TCP:

* SIPp as client (``*_uac.xml``) against an :class:`Endpoint` serving
  OPTIONS (the default answer), MESSAGE and INVITE/ACK/BYE;
* the Endpoint as client against SIPp as server (``*_uas.xml``): MESSAGE and
  OPTIONS transactions, and a whole INVITE dialog in which the endpoint sends
  the ACK for the 2xx and the BYE itself;
* a short, bounded burst of MESSAGE calls (a correctness check under load,
  not a benchmark).

A test passes only if SIPp reports every call successful and none failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import pytest
from sipp_runner import (
    SippResult,
    SippUAS,
    Transport,
    requires_sipp,
    run_sipp_uac,
    scenario,
    sipp_uas,
)

from sipstack.endpoint import Endpoint, IncomingRequest
from sipstack.message import Request, Response, SipURI, make_request
from sipstack.transport import Destination, normalize_host

pytestmark = requires_sipp

TRANSPORTS: list[Transport] = ["udp", "tcp"]
HOST = "127.0.0.1"
# Every test is bounded by this, even when SIPp or the endpoint misbehaves.
TEST_DEADLINE = 20.0
# SIPp's own global timeout for a run; reaching it is a failure.
SIPP_TIMEOUT = 10.0

T = TypeVar("T")


def _sdp(user: str, port: int) -> bytes:
    lines = [
        "v=0",
        f"o={user} 1 1 IN IP4 {HOST}",
        "s=-",
        f"c=IN IP4 {HOST}",
        "t=0 0",
        f"m=audio {port} RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


SDP_ANSWER = _sdp("sipstack", 40000)
SDP_OFFER = _sdp("sipstack", 40002)


def _uri_params(transport: Transport) -> str:
    """The URI parameter that makes a next hop TCP (UDP is the default)."""
    return ";transport=tcp" if transport == "tcp" else ""


async def _bounded(aw: Awaitable[T]) -> T:
    return await asyncio.wait_for(aw, TEST_DEADLINE)


def _no_endpoint_trouble(ep: Endpoint) -> None:
    """Nothing went wrong inside the endpoint that SIPp could not see."""
    for counter in ("bad_requests", "handler_errors", "unanswered", "hook_errors"):
        assert ep.stats[counter] == 0, f"{counter}: {ep.stats}"


# -- SIPp as client, the Endpoint as server -------------------------------------


async def _run_uac(
    ep: Endpoint, name: str, transport: Transport, *, calls: int, rate: float
) -> SippResult:
    port = ep.listener(transport).local[1]
    return await run_sipp_uac(
        scenario(name),
        HOST,
        port,
        transport=transport,
        calls=calls,
        rate=rate,
        timeout=SIPP_TIMEOUT,
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_options_default_answer(transport: Transport) -> None:
    calls = 20

    async def run() -> SippResult:
        async with Endpoint(listen=[f"{transport}:{HOST}:0"]) as ep:
            result = await _run_uac(ep, "options_uac.xml", transport, calls=calls, rate=50)
            _no_endpoint_trouble(ep)
            return result

    result = await _bounded(run())
    result.assert_ok(calls)


@pytest.mark.parametrize("status", [200, 202])
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_message_handler(transport: Transport, status: int) -> None:
    calls = 50
    received: list[Request] = []

    def on_message(incoming: IncomingRequest) -> None:
        received.append(incoming.request)
        incoming.respond(status)

    async def run() -> SippResult:
        async with Endpoint(listen=[f"{transport}:{HOST}:0"]) as ep:
            ep.route("MESSAGE", on_message)
            result = await _run_uac(ep, "message_uac.xml", transport, calls=calls, rate=100)
            _no_endpoint_trouble(ep)
            return result

    result = await _bounded(run())
    result.assert_ok(calls)
    # Each call reached the handler exactly once (retransmissions, if any,
    # were absorbed by the transaction layer), body and type intact.
    assert len(received) == calls
    assert len({r.call_id for r in received}) == calls
    for request in received:
        assert request.content_type is not None
        assert request.content_type.mime == "text/plain"
        assert request.body.startswith(b"Hello from SIPp, call "), request.body
        assert request.content_length == len(request.body)
        assert request.top_via.transport == transport.upper()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_invite_dialog_from_sipp(transport: Transport) -> None:
    calls = 10
    invites: list[Request] = []
    acks: list[Request] = []
    byes: list[Request] = []
    to_tags: dict[str, str] = {}

    async def run() -> SippResult:
        async with Endpoint(listen=[f"{transport}:{HOST}:0"]) as ep:
            host, port = ep.listener(transport).local
            contact = f"<sip:sipstack@{host}:{port}{_uri_params(transport)}>"

            async def on_invite(incoming: IncomingRequest) -> None:
                invites.append(incoming.request)
                to_tags[incoming.request.call_id] = incoming.to_tag
                incoming.respond(180, headers=[("Contact", contact)])
                await asyncio.sleep(0.01)  # ring briefly: answer from a task
                incoming.respond(
                    200,
                    headers=[("Contact", contact)],
                    body=SDP_ANSWER,
                    content_type="application/sdp",
                )

            def on_ack(incoming: IncomingRequest) -> None:
                acks.append(incoming.request)

            def on_bye(incoming: IncomingRequest) -> None:
                byes.append(incoming.request)
                incoming.respond(200)

            ep.route("INVITE", on_invite)
            ep.route("ACK", on_ack)
            ep.route("BYE", on_bye)
            result = await _run_uac(ep, "invite_uac.xml", transport, calls=calls, rate=20)
            _no_endpoint_trouble(ep)
            return result

    result = await _bounded(run())
    result.assert_ok(calls)
    assert len(invites) == calls
    for invite in invites:
        assert invite.content_type is not None and invite.content_type.mime == "application/sdp"
        assert invite.body.startswith(b"v=0")
    # One ACK and one BYE per call, each in the dialog the 200 established.
    assert len(acks) == calls
    assert len(byes) == calls
    for ack in acks:
        assert ack.method == "ACK" and ack.cseq.seq == 1
        assert ack.to_addr.tag == to_tags[ack.call_id]
    assert {a.call_id for a in acks} == {i.call_id for i in invites}
    for bye in byes:
        assert bye.to_addr.tag == to_tags[bye.call_id]
    assert {b.call_id for b in byes} == {i.call_id for i in invites}


async def test_message_burst_udp() -> None:
    calls, rate = 1000, 500
    received = 0

    def on_message(incoming: IncomingRequest) -> None:
        nonlocal received
        received += 1
        incoming.respond(200)

    async def run() -> SippResult:
        async with Endpoint(listen=[f"udp:{HOST}:0"]) as ep:
            ep.route("MESSAGE", on_message)
            result = await _run_uac(ep, "message_uac.xml", "udp", calls=calls, rate=rate)
            _no_endpoint_trouble(ep)
            return result

    result = await _bounded(run())
    result.assert_ok(calls)
    assert received == calls


# -- the Endpoint as client, SIPp as server --------------------------------------


def _addresses(ep: Endpoint, uas: SippUAS, transport: Transport) -> dict[str, str]:
    host, port = ep.listener(transport).local
    return {
        "uri": f"sip:service@{uas.host}:{uas.port}{_uri_params(transport)}",
        "from": f"<sip:sipstack@{host}:{port}>",
        "to": f"<sip:service@{uas.host}:{uas.port}>",
        "contact": f"<sip:sipstack@{host}:{port}{_uri_params(transport)}>",
    }


@pytest.mark.parametrize("method", ["MESSAGE", "OPTIONS"])
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_endpoint_requests_to_sipp(transport: Transport, method: str) -> None:
    calls = 20

    async def one(ep: Endpoint, uas: SippUAS, n: int) -> Response:
        a = _addresses(ep, uas, transport)
        if method == "MESSAGE":
            req = make_request(
                "MESSAGE",
                a["uri"],
                from_addr=a["from"],
                to_addr=a["to"],
                body=f"hello SIPp, message {n}".encode(),
                content_type="text/plain",
            )
        else:
            req = make_request(
                "OPTIONS", a["uri"], from_addr=a["from"], to_addr=a["to"], contact=a["contact"]
            )
        return await ep.request(req)

    async def run() -> tuple[list[Response], SippResult]:
        async with (
            Endpoint(listen=[f"{transport}:{HOST}:0"]) as ep,
            sipp_uas(
                scenario(f"{method.lower()}_uas.xml"),
                transport=transport,
                calls=calls,
                timeout=TEST_DEADLINE,
            ) as uas,
        ):
            responses = await asyncio.gather(*(one(ep, uas, n) for n in range(calls)))
            _no_endpoint_trouble(ep)
        assert uas.result is not None
        return responses, uas.result

    responses, result = await _bounded(run())
    assert [r.status for r in responses] == [200] * calls, [(r.status, r.reason) for r in responses]
    for r in responses:
        assert r.cseq.method == method
        assert r.to_addr.tag is not None
    result.assert_ok(calls)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_endpoint_invite_dialog_to_sipp(transport: Transport) -> None:
    calls = 5

    async def one_call(ep: Endpoint, uas: SippUAS, n: int) -> None:
        a = _addresses(ep, uas, transport)
        invite = make_request(
            "INVITE",
            a["uri"],
            from_addr=a["from"],
            to_addr=a["to"],
            contact=a["contact"],
            body=SDP_OFFER,
            content_type="application/sdp",
        )
        seen: list[Response] = []
        final = await ep.request(invite, on_response=seen.append)
        assert final.status == 200, f"call {n}: {final.status} {final.reason}"
        assert 180 in [r.status for r in seen], [r.status for r in seen]
        assert final.content_type is not None and final.content_type.mime == "application/sdp"
        remote_tag = final.to_addr.tag
        assert remote_tag is not None

        # The remote target: the 200's Contact (RFC 3261 §12.1.2).
        target = final.contacts[0].uri
        assert isinstance(target, SipURI)
        assert target.port is not None
        dest = Destination(transport.upper(), normalize_host(target.host), target.port)

        # The ACK for the 2xx is sent by the UA core, outside any transaction
        # (§13.2.2.4): same Call-ID, From and CSeq number, the To of the 200.
        ack = make_request(
            "ACK",
            target,
            from_addr=invite.from_addr,
            to_addr=final.to_addr,
            call_id=invite.call_id,
            cseq=invite.cseq.seq,
        )
        await ep.send_stateless(ack, dest)

        bye = make_request(
            "BYE",
            target,
            from_addr=invite.from_addr,
            to_addr=final.to_addr,
            call_id=invite.call_id,
            cseq=invite.cseq.seq + 1,
        )
        bye_final = await ep.request(bye, dest)
        assert bye_final.status == 200, f"call {n}: BYE {bye_final.status} {bye_final.reason}"
        assert bye_final.to_addr.tag == remote_tag

    async def run() -> SippResult:
        async with (
            Endpoint(listen=[f"{transport}:{HOST}:0"]) as ep,
            sipp_uas(
                scenario("invite_uas.xml"),
                transport=transport,
                calls=calls,
                timeout=TEST_DEADLINE,
            ) as uas,
        ):
            await asyncio.gather(*(one_call(ep, uas, n) for n in range(calls)))
            _no_endpoint_trouble(ep)
        assert uas.result is not None
        return uas.result

    result = await _bounded(run())
    result.assert_ok(calls)
