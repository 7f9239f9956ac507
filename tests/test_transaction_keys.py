"""Matching requests and responses to transactions (RFC 3261 §17.1.3,
§17.2.3, §9.2) and merged-request detection (§8.2.2.2)."""

from __future__ import annotations

from sipstack.message import make_request, make_response, parse
from sipstack.transaction import ack_for, client_key, merge_key, response_key, server_key


def req(method="INVITE", via="SIP/2.0/UDP pc.example.com;branch=z9hG4bKabc", to="<sip:b@x>", **kw):
    return make_request(
        method, "sip:b@x", from_addr="<sip:a@x>;tag=f1", to_addr=to, via=via, call_id="c1", **kw
    )


def test_response_matches_its_client_transaction():
    r = req()
    resp = parse(bytes(make_response(r, 180, to_tag="t")))
    assert response_key(resp) == client_key(r) == ("z9hG4bKabc", "INVITE")


def test_cancel_response_does_not_match_the_invite():
    r = req()
    cancel = req("CANCEL")
    assert response_key(make_response(cancel, 200)) != client_key(r)


def test_ack_for_non_2xx_matches_the_invite_server_transaction():
    r = req()
    ack = ack_for(r, make_response(r, 486, to_tag="t"))
    assert server_key(ack) == server_key(r)


def test_cancel_finds_the_invite_it_cancels():
    r = req()
    cancel = req("CANCEL")
    assert server_key(cancel) != server_key(r)
    assert server_key(cancel, method="INVITE") == server_key(r)


def test_sent_by_is_part_of_the_key_and_default_port_applies():
    a = req(via="SIP/2.0/UDP pc.example.com;branch=z9hG4bKabc")
    b = req(via="SIP/2.0/UDP PC.example.com:5060;branch=z9hG4bKabc")
    c = req(via="SIP/2.0/UDP other.example.com;branch=z9hG4bKabc")
    assert server_key(a) == server_key(b)
    assert server_key(a) != server_key(c)


def test_rfc2543_fallback_without_magic_cookie():
    a = req(via="SIP/2.0/UDP pc.example.com;branch=old1")
    ack = ack_for(a, make_response(a, 404, to_tag="t"))
    assert server_key(a)[0] == "2543"
    assert server_key(ack) == server_key(a)
    other = req(via="SIP/2.0/UDP pc.example.com;branch=old1", cseq=2)
    assert server_key(other) != server_key(a)


def test_merged_request_detection():
    a = req(via="SIP/2.0/UDP p1.example.com;branch=z9hG4bK1")
    b = req(via="SIP/2.0/UDP p2.example.com;branch=z9hG4bK2")
    assert merge_key(a) == merge_key(b) and server_key(a) != server_key(b)  # -> 482
    in_dialog = req(to="<sip:b@x>;tag=t9")
    assert merge_key(in_dialog) is None
