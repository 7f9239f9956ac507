"""Sans-I/O dialogs (RFC 3261 §12): creation on both sides, route sets,
strict and loose routing, CSeq spaces, target refresh, CANCEL."""

from __future__ import annotations

import pytest

from sipstack.dialog import (
    Dialog,
    DialogError,
    DialogState,
    cancel_for,
    uac_dialog_id,
    uas_dialog_id,
)
from sipstack.errors import SIPUsageError
from sipstack.message import Request, Response, make_request, make_response, parse


def wire(message: Request | Response) -> Request | Response:
    """Through the real parser, as a peer would see it (a request gets the
    Via its transport would add)."""
    if isinstance(message, Request) and "Via" not in message.headers:
        message.headers.add("Via", "SIP/2.0/UDP h.example.com;branch=z9hG4bKx", first=True)
    return parse(bytes(message))


def invite(route_headers: list[tuple[str, str]] | None = None) -> Request:
    req = make_request(
        "INVITE",
        "sip:bob@biloxi.example.com",
        from_addr='"Alice" <sip:alice@atlanta.example.com>;tag=a1',
        to_addr="<sip:bob@biloxi.example.com>",
        call_id="call-1",
        cseq=314,
        via="SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKinv",
        contact="<sip:alice@pc33.atlanta.example.com>",
        headers=route_headers or [],
    )
    out = wire(req)
    assert isinstance(out, Request)
    return out


def answer(req: Request, status: int = 200, rr: list[str] | None = None) -> Response:
    headers = [("Contact", "<sip:bob@192.0.2.4>")]
    headers += [("Record-Route", r) for r in rr or []]
    resp = make_response(req, status, to_tag="b1", headers=headers)
    out = wire(resp)
    assert isinstance(out, Response)
    return out


RR = ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]


def test_uac_and_uas_see_the_same_dialog_from_both_ends() -> None:
    req = invite([("Record-Route", r) for r in RR])
    ok = answer(req, rr=RR)
    uac = Dialog.as_uac(req, ok)
    uas = Dialog.as_uas(req, "b1")
    assert uac.id == ("call-1", "a1", "b1") == uac_dialog_id(ok)
    assert uas.id == ("call-1", "b1", "a1")
    # The UAC's route set is the Record-Route reversed; the UAS's as received.
    assert [str(r.uri) for r in uac.route_set] == ["sip:p2.example.com;lr", "sip:p1.example.com;lr"]
    assert [str(r.uri) for r in uas.route_set] == ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]
    assert str(uac.remote_target) == "sip:bob@192.0.2.4"
    assert str(uas.remote_target) == "sip:alice@pc33.atlanta.example.com"
    assert uac.local_seq == 314 and uac.remote_seq is None
    assert uas.remote_seq == 314
    assert uac.state is uas.state is DialogState.CONFIRMED


def test_in_dialog_request_with_loose_routes_reaches_the_other_side() -> None:
    req = invite()
    ok = answer(req, rr=RR)
    uac = Dialog.as_uac(req, ok)
    uas = Dialog.as_uas(wire(req), "b1")  # type: ignore[arg-type]
    bye = wire(uac.create_request("BYE"))
    assert isinstance(bye, Request)
    assert str(bye.uri) == "sip:bob@192.0.2.4"
    assert bye.headers.get_all("Route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert bye.cseq.seq == 315 and bye.cseq.method == "BYE"
    assert bye.from_addr.tag == "a1" and bye.to_addr.tag == "b1"
    assert uas_dialog_id(bye) == uas.id
    uas.receive_request(bye)
    assert uas.remote_seq == 315


def test_strict_router_gets_the_request_uri_and_target_goes_last() -> None:
    req = invite()
    ok = answer(req, rr=["<sip:old.example.com;maddr=10.0.0.1>"])
    uac = Dialog.as_uac(req, ok)
    msg = wire(uac.create_request("INFO"))
    assert isinstance(msg, Request)
    assert str(msg.uri) == "sip:old.example.com"  # §12.2.1.1, maddr dropped
    assert msg.headers.get_all("Route") == ["<sip:bob@192.0.2.4>"]


def test_ack_takes_the_invite_cseq_and_does_not_advance() -> None:
    req = invite()
    uac = Dialog.as_uac(req, answer(req))
    ack = uac.create_request("ACK", cseq=314)
    assert ack.cseq.seq == 314 and uac.local_seq == 314
    with pytest.raises(SIPUsageError):
        uac.create_request("ACK")


def test_out_of_order_cseq_is_a_500_and_target_refresh_updates_contact() -> None:
    req = invite()
    uas = Dialog.as_uas(req, "b1")
    uac = Dialog.as_uac(req, answer(req))
    reinvite = uac.create_request("INVITE", contact="<sip:alice@198.51.100.7:5070>")
    uas.receive_request(wire(reinvite))  # type: ignore[arg-type]
    assert str(uas.remote_target) == "sip:alice@198.51.100.7:5070"
    stale = make_request(
        "INFO",
        "sip:bob@192.0.2.4",
        from_addr="<sip:alice@atlanta.example.com>;tag=a1",
        to_addr="<sip:bob@biloxi.example.com>;tag=b1",
        call_id="call-1",
        cseq=315,
    )
    with pytest.raises(DialogError) as info:
        uas.receive_request(stale)
    assert info.value.status == 500


def test_early_dialog_from_180_is_confirmed_by_the_2xx_with_its_route_set() -> None:
    req = invite()
    ringing = answer(req, 180, rr=["<sip:p1.example.com;lr>"])
    early = Dialog.as_uac(req, ringing)
    assert early.state is DialogState.EARLY
    ok = answer(req, 200, rr=RR)
    early.receive_response(req, ok)
    assert early.state is DialogState.CONFIRMED
    assert len(early.route_set) == 2


def test_forked_responses_make_separate_dialogs() -> None:
    req = invite()
    one = Dialog.as_uac(req, answer(req))
    other_resp = wire(make_response(req, 200, to_tag="b2", headers=[("Contact", "<sip:b@h2>")]))
    other = Dialog.as_uac(req, other_resp)  # type: ignore[arg-type]
    assert one.id != other.id and other.remote_tag == "b2"


def test_481_or_408_ends_the_dialog() -> None:
    req = invite()
    d = Dialog.as_uac(req, answer(req))
    bye = d.create_request("BYE")
    sent = wire(bye)
    d.receive_response(sent, wire(make_response(sent, 481, to_tag="b1")))  # type: ignore[arg-type]
    assert d.state is DialogState.TERMINATED
    with pytest.raises(SIPUsageError):
        d.create_request("BYE")


def test_bad_dialog_creating_messages_are_clean_errors() -> None:
    req = invite()
    no_tag = wire(make_response(req, 200, headers=[("Contact", "<sip:b@h>")]))
    with pytest.raises(DialogError):
        Dialog.as_uac(req, no_tag)  # type: ignore[arg-type]
    no_contact = wire(make_response(req, 200, to_tag="x"))
    with pytest.raises(DialogError):
        Dialog.as_uac(req, no_contact)  # type: ignore[arg-type]
    bare = make_request("INVITE", "sip:b@h", from_addr="<sip:a@h>", to_addr="<sip:b@h>")
    with pytest.raises(DialogError) as info:
        Dialog.as_uas(bare, "t")
    assert info.value.status == 400


def test_sips_request_uri_makes_a_secure_dialog() -> None:
    req = wire(
        make_request(
            "INVITE",
            "sips:bob@biloxi.example.com",
            from_addr="<sips:alice@atlanta.example.com>",
            to_addr="<sips:bob@biloxi.example.com>",
            contact="<sips:alice@pc33.atlanta.example.com>",
        )
    )
    assert Dialog.as_uas(req, "t").secure  # type: ignore[arg-type]


def test_cancel_matches_the_invite_hop_by_hop() -> None:
    req = invite([("Route", "<sip:p1.example.com;lr>")])
    cancel = cancel_for(req)
    assert cancel.method == "CANCEL" and cancel.uri == req.uri
    assert cancel.top_via.branch == req.top_via.branch
    assert cancel.cseq.seq == 314 and cancel.cseq.method == "CANCEL"
    assert cancel.headers.get_all("Route") == ["<sip:p1.example.com;lr>"]
    assert cancel.from_addr == req.from_addr and cancel.to_addr == req.to_addr
