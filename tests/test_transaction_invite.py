"""INVITE client and server transactions (RFC 3261 §17.1.1, §17.2.1 with the
RFC 6026 Accepted state) driven by a fake clock."""

from __future__ import annotations

import pytest
from fakeclock import run_timers

from sipstack.message import Request, make_request, make_response, parse
from sipstack.transaction import (
    TRYING_DELAY,
    ClientInviteTransaction,
    MessageToSend,
    ResponseToTU,
    ServerInviteTransaction,
    State,
    TransactionError,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
    ack_for,
)


def invite() -> Request:
    return make_request(
        "INVITE",
        "sip:bob@example.com",
        from_addr="<sip:alice@example.com>",
        to_addr="<sip:bob@example.com>",
        via="SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKinv1",
        headers=[("Route", "<sip:proxy.example.com;lr>")],
        cseq=7,
    )


# -- client ------------------------------------------------------------------


def test_client_udp_timer_a_doubles_without_cap_until_timer_b():
    tx = ClientInviteTransaction(invite(), reliable=False)
    assert tx.start(0.0) == [MessageToSend(tx.request)]
    fired = run_timers(tx, 100.0)
    resends = [t for t, e in fired if isinstance(e, MessageToSend)]
    assert resends == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # §17.1.1.2: 7 sendings in all
    assert fired[-2:] == [(32.0, TransactionTimeout("B")), (32.0, TransactionTerminated())]


def test_client_tcp_sends_once():
    tx = ClientInviteTransaction(invite(), reliable=True)
    tx.start(0.0)
    assert tx.pending_timers() == {"B": 32.0}


def test_client_provisional_stops_retransmissions():
    req = invite()
    tx = ClientInviteTransaction(req, reliable=False)
    tx.start(0.0)
    ringing = make_response(req, 180, to_tag="b1")
    assert tx.receive_response(ringing, 0.3) == [ResponseToTU(ringing)]
    assert tx.state is State.PROCEEDING and tx.next_deadline is None


def test_client_rejection_sends_ack_and_resends_it():
    req = invite()
    tx = ClientInviteTransaction(req, reliable=False)
    tx.start(0.0)
    busy = make_response(req, 486, to_tag="b1")
    events = tx.receive_response(busy, 0.4)
    assert events[0] == ResponseToTU(busy)
    ack = events[1].message
    assert isinstance(ack, Request) and ack.method == "ACK"
    assert tx.state is State.COMPLETED and tx.pending_timers() == {"D": 32.4}
    # a retransmitted 486 gets the same ACK again, not the TU
    assert tx.receive_response(busy, 1.0) == [MessageToSend(ack, retransmission=True)]
    assert tx.handle_timer(32.4) == [TransactionTerminated()]


def test_ack_for_non_2xx_follows_17_1_1_3():
    req = invite()
    busy = make_response(req, 486, to_tag="b1")
    ack = parse(bytes(ack_for(req, busy))).validate()
    assert str(ack.uri) == str(req.uri)
    assert ack.call_id == req.call_id and ack.from_addr == req.from_addr
    assert ack.to_addr.tag == "b1"
    assert (ack.cseq.seq, ack.cseq.method) == (7, "ACK")
    assert [str(v) for v in ack.vias] == [str(req.top_via)]
    assert [str(r) for r in ack.routes] == ["<sip:proxy.example.com;lr>"]


def test_client_2xx_goes_to_accepted_and_every_2xx_reaches_the_tu():
    req = invite()
    tx = ClientInviteTransaction(req, reliable=False)
    tx.start(0.0)
    ok = make_response(req, 200, to_tag="b1")
    assert tx.receive_response(ok, 0.2) == [ResponseToTU(ok)]
    assert tx.state is State.ACCEPTED and tx.pending_timers() == {"M": 32.2}
    assert tx.receive_response(ok, 0.9) == [ResponseToTU(ok)]  # TU re-sends its ACK
    ok2 = make_response(req, 200, to_tag="b2")  # a forked 2xx
    assert tx.receive_response(ok2, 1.0) == [ResponseToTU(ok2)]
    assert tx.receive_response(make_response(req, 180), 1.1) == []
    assert tx.handle_timer(32.2) == [TransactionTerminated()]


def test_client_transport_error_and_misuse():
    req = invite()
    tx = ClientInviteTransaction(req, reliable=False)
    tx.start(0.0)
    with pytest.raises(TransactionError):
        tx.start(0.0)
    assert tx.transport_error(0.1, "refused") == [
        TransportError("refused"),
        TransactionTerminated(),
    ]
    with pytest.raises(ValueError):
        ClientInviteTransaction(
            make_request("BYE", "sip:b@x", from_addr="<sip:a@x>", to_addr="<sip:b@x>"),
            reliable=True,
        )


# -- server ------------------------------------------------------------------


def test_server_sends_100_trying_when_the_tu_is_silent():
    req = invite()
    tx = ServerInviteTransaction(req, reliable=False)
    assert tx.start(0.0) == []
    [event] = tx.handle_timer(TRYING_DELAY)
    assert isinstance(event, MessageToSend) and event.message.status == 100
    assert event.message.to_addr.tag is None  # never a To-tag on 100
    # the INVITE retransmitted: the 100 again
    assert tx.receive_request(req, 0.5) == [MessageToSend(event.message, retransmission=True)]


def test_server_no_trying_when_the_tu_answers_in_time():
    req = invite()
    tx = ServerInviteTransaction(req, reliable=False)
    tx.start(0.0)
    ringing = make_response(req, 180, to_tag="s")
    assert tx.send_response(ringing, 0.1) == [MessageToSend(ringing)]
    assert tx.next_deadline is None


def test_server_rejection_retransmits_until_ack():
    req = invite()
    tx = ServerInviteTransaction(req, reliable=False)
    tx.start(0.0)
    busy = make_response(req, 486, to_tag="s")
    tx.send_response(busy, 1.0)
    assert tx.state is State.COMPLETED
    fired = run_timers(tx, 9.0)
    # Timer G: T1, doubling up to T2
    assert [t for t, _ in fired] == [1.5, 2.5, 4.5, 8.5]
    ack = ack_for(req, busy)
    assert tx.receive_request(ack, 9.0) == []
    assert tx.state is State.CONFIRMED and tx.pending_timers() == {"I": 14.0}
    assert tx.receive_request(ack, 9.5) == []  # absorbed
    assert tx.handle_timer(14.0) == [TransactionTerminated()]


def test_server_timer_h_gives_up_without_ack():
    req = invite()
    tx = ServerInviteTransaction(req, reliable=True)
    tx.start(0.0)
    tx.send_response(make_response(req, 603, to_tag="s"), 0.0)
    assert tx.pending_timers() == {"H": 32.0}  # no Timer G on reliable transports
    assert tx.handle_timer(32.0) == [TransactionTimeout("H"), TransactionTerminated()]


def test_server_2xx_accepted_state():
    req = invite()
    tx = ServerInviteTransaction(req, reliable=False)
    tx.start(0.0)
    ok = make_response(req, 200, to_tag="s")
    assert tx.send_response(ok, 0.1) == [MessageToSend(ok)]
    assert tx.state is State.ACCEPTED
    assert tx.pending_timers() == {"L": pytest.approx(32.1), "G2xx": pytest.approx(0.6)}
    assert tx.receive_request(req, 0.5) == []  # INVITE retransmission absorbed
    assert tx.send_response(ok, 0.55) == [MessageToSend(ok)]  # TU retransmits its 2xx
    with pytest.raises(TransactionError):
        tx.send_response(make_response(req, 486, to_tag="s"), 0.7)
    ack = make_request(
        "ACK", req.uri, from_addr=req.from_addr, to_addr=ok.to_addr, call_id=req.call_id, cseq=1
    )
    assert tx.receive_request(ack, 0.58) == [] and tx.acked
    assert "G2xx" not in tx.pending_timers()
    assert tx.handle_timer(32.1) == [TransactionTerminated()]


@pytest.mark.parametrize("reliable", [False, True])
def test_server_2xx_retransmitted_until_ack_then_timer_l_reports(reliable):
    """§13.3.1.4: the 2xx goes out again at T1, 2T1, … capped at T2, for
    64*T1; with no ACK by then the TU learns it (to send a BYE)."""
    req = invite()
    tx = ServerInviteTransaction(req, reliable=reliable)
    tx.start(0.0)
    ok = make_response(req, 200, to_tag="s")
    tx.send_response(ok, 0.0)
    sent = []
    while "G2xx" in tx.pending_timers():
        at = tx.pending_timers()["G2xx"]
        if at >= 32.0:
            break
        events = tx.handle_timer(at)
        assert events == [MessageToSend(ok, retransmission=True)]
        sent.append(at)
    gaps = [round(b - a, 3) for a, b in zip([0.0, *sent], sent, strict=False)]
    assert gaps[:4] == [0.5, 1.0, 2.0, 4.0] and max(gaps) == 4.0
    assert tx.handle_timer(32.0)[:1] == [TransactionTimeout("L")]
    assert tx.terminated


# -- the tables refuse every unlisted (state, input) -------------------------


def _all_states(table):
    return sorted({s for s, _ in table}, key=lambda s: s.value)


@pytest.mark.parametrize("cls", [ClientInviteTransaction, ServerInviteTransaction])
def test_unlisted_inputs_are_errors(cls):
    inputs = {i for _, i in cls.TABLE}
    for state in _all_states(cls.TABLE):
        for inp in inputs:
            if (state, inp) in cls.TABLE:
                continue
            tx = cls(invite(), reliable=False)
            tx.state = state
            with pytest.raises(TransactionError):
                tx._fire(inp, 0.0, None)
