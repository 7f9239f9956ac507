"""The transaction table: matching, CANCEL (§9.2), merged requests
(§8.2.2.2), stray responses, one timer heap, memory freed on termination."""

from __future__ import annotations

from sipstack.message import Request, make_request, make_response, parse
from sipstack.transaction import (
    AckReceived,
    AckTimeout,
    CancelReceived,
    Outgoing,
    RequestReceived,
    ResponseReceived,
    StrayResponse,
    TransactionFailed,
    TransactionLayer,
    ack_for,
)


def req(
    method="MESSAGE", branch="z9hG4bKa1", host="pc.example.com", cseq=1, to="<sip:b@x>"
) -> Request:
    return parse(
        bytes(
            make_request(
                method,
                "sip:b@x",
                from_addr="<sip:a@x>;tag=f1",
                to_addr=to,
                call_id="c1",
                cseq=cseq,
                via=f"SIP/2.0/UDP {host};branch={branch}",
            )
        )
    )


def sent(events):
    return [e.message for e in events if isinstance(e, Outgoing)]


def test_new_request_then_retransmission_is_absorbed_and_answer_resent():
    layer = TransactionLayer()
    r = req()
    [new] = layer.receive(r, 0.0, reliable=False)
    assert isinstance(new, RequestReceived) and new.request is r
    assert layer.receive(r, 0.1, reliable=False) == []  # Trying: absorbed
    ok = make_response(r, 200, to_tag="s")
    assert sent(layer.send_response(new.transaction, ok, 0.2)) == [ok]
    assert sent(layer.receive(r, 0.3, reliable=False)) == [ok]
    assert len(layer) == 1
    assert layer.next_deadline == 32.2  # Timer J
    layer.handle_timer(32.2)
    assert len(layer) == 0  # forgotten once terminated


def test_client_side_response_routing_and_stray_responses():
    layer = TransactionLayer()
    r = req(branch="z9hG4bKc1")
    tx, events = layer.send_request(r, 0.0, reliable=True)
    assert sent(events) == [r]
    resp = parse(bytes(make_response(r, 200, to_tag="x")))
    [got] = layer.receive(resp, 0.1, reliable=True)
    assert isinstance(got, ResponseReceived) and got.transaction is tx
    other = parse(bytes(make_response(req(branch="z9hG4bKnone"), 200)))
    assert layer.receive(other, 0.2, reliable=True) == [StrayResponse(other)]


def test_client_timeout_is_reported_and_freed():
    layer = TransactionLayer()
    tx, _ = layer.send_request(req(branch="z9hG4bKt"), 0.0, reliable=True)
    events = layer.handle_timer(32.0)
    assert events == [TransactionFailed(tx, "timeout")]
    assert len(layer) == 0 and layer.next_deadline is None


def test_cancel_of_ringing_invite_gets_200_and_487():
    layer = TransactionLayer()
    inv = req("INVITE", branch="z9hG4bKinv")
    [new] = layer.receive(inv, 0.0, reliable=False)
    layer.send_response(new.transaction, make_response(inv, 180, to_tag="ring"), 0.05)
    cancel = req("CANCEL", branch="z9hG4bKinv")
    events = layer.receive(cancel, 1.0, reliable=False)
    out = sent(events)
    assert [(m.status, m.cseq.method) for m in out] == [(200, "CANCEL"), (487, "INVITE")]
    assert all(m.to_addr.tag == "ring" for m in out)  # the TU's tag, on both
    assert any(isinstance(e, CancelReceived) and e.invite is inv for e in events)
    # the ACK for the 487 is absorbed by the INVITE transaction
    assert layer.receive(ack_for(inv, out[1]), 1.1, reliable=False) == []


def test_cancel_without_invite_is_481_and_after_final_only_200():
    layer = TransactionLayer()
    [resp] = sent(layer.receive(req("CANCEL", branch="z9hG4bKzz"), 0.0, reliable=True))
    assert resp.status == 481
    inv = req("INVITE", branch="z9hG4bKdone")
    [new] = layer.receive(inv, 0.0, reliable=True)
    layer.send_response(new.transaction, make_response(inv, 200, to_tag="s"), 0.1)
    out = sent(layer.receive(req("CANCEL", branch="z9hG4bKdone"), 0.2, reliable=True))
    assert [m.status for m in out] == [200]  # too late to cancel: no 487


def test_100_trying_after_200_ms_through_the_heap():
    layer = TransactionLayer()
    layer.receive(req("INVITE", branch="z9hG4bKslow"), 0.0, reliable=True)
    assert layer.next_deadline == 0.2
    [trying] = sent(layer.handle_timer(0.2))
    assert trying.status == 100


def test_ack_for_2xx_goes_to_the_tu():
    layer = TransactionLayer()
    ack = req("ACK", branch="z9hG4bKnew", to="<sip:b@x>;tag=s")
    assert layer.receive(ack, 0.0, reliable=True) == [AckReceived(ack)]


def test_merged_request_gets_482():
    layer = TransactionLayer()
    first = req(branch="z9hG4bKp1", host="p1.example.com")
    layer.receive(first, 0.0, reliable=False)
    second = req(branch="z9hG4bKp2", host="p2.example.com")
    [resp] = sent(layer.receive(second, 0.1, reliable=False))
    assert resp.status == 482


def test_overload_is_answered_statelessly():
    layer = TransactionLayer(max_transactions=2)
    layer.receive(req(branch="z9hG4bK1", cseq=1), 0.0, reliable=True)
    layer.receive(req(branch="z9hG4bK2", cseq=2), 0.0, reliable=True)
    [resp] = sent(layer.receive(req(branch="z9hG4bK3", cseq=3), 0.0, reliable=True))
    assert resp.status == 503 and len(layer) == 2


def test_memory_is_freed_over_many_transactions():
    layer = TransactionLayer()
    for i in range(2000):
        r = req(branch=f"z9hG4bK{i}", cseq=i + 1)
        [new] = layer.receive(r, i * 0.001, reliable=True)
        layer.send_response(new.transaction, make_response(r, 200, to_tag="s"), i * 0.001)
        layer.handle_timer(i * 0.001)
    assert len(layer) == 0
    assert layer.next_deadline is None and not layer._heap and not layer._merge


def test_network_input_a_transaction_cannot_take_is_dropped_not_raised():
    layer = TransactionLayer()
    inv = req("INVITE", branch="z9hG4bKacc")
    [new] = layer.receive(inv, 0.0, reliable=True)
    layer.send_response(new.transaction, make_response(inv, 200, to_tag="s"), 0.1)
    # an ACK for the 2xx that reuses the INVITE's branch belongs to the dialog
    ack = req("ACK", branch="z9hG4bKacc", to="<sip:b@x>;tag=s")
    assert layer.receive(ack, 0.2, reliable=True) == [AckReceived(ack)]
    # a client INVITE that was rejected and then gets a forked 2xx passes it on
    tx, _ = layer.send_request(req("INVITE", branch="z9hG4bKfork"), 1.0, reliable=True)
    layer.receive(parse(bytes(make_response(tx.request, 486, to_tag="a"))), 1.1, reliable=True)
    ok = parse(bytes(make_response(tx.request, 200, to_tag="b")))
    [got] = layer.receive(ok, 1.2, reliable=True)
    assert isinstance(got, ResponseReceived) and got.response.status == 200


def test_ack_with_its_own_branch_stops_the_2xx_retransmissions():
    """The ACK for a 2xx has a new branch (§13.2.2.4); the layer finds the
    accepted INVITE by Call-ID, CSeq number and To tag and stops resending."""
    layer = TransactionLayer()
    invite = req("INVITE", branch="z9hG4bKinv")
    [new, *_] = layer.receive(invite, 0.0, reliable=False)
    ok = make_response(invite, 200, to_tag="s1")
    layer.send_response(new.transaction, ok, 0.0)
    assert sent(layer.handle_timer(0.5)) == [ok]  # no ACK yet: resent after T1
    other = req("ACK", branch="z9hG4bKack", to="<sip:b@x>;tag=other")
    assert layer.receive(other, 0.6, reliable=False) == [AckReceived(other)]
    assert sent(layer.handle_timer(1.5)) == [ok]  # an ACK for another dialog
    ack = req("ACK", branch="z9hG4bKack2", to="<sip:b@x>;tag=s1")
    assert layer.receive(ack, 1.6, reliable=False) == [AckReceived(ack)]
    assert sent(layer.handle_timer(31.9)) == []
    assert layer.handle_timer(32.0) == []  # Timer L: acked, nothing to report
    assert len(layer) == 0 and not layer._accepted


def test_unacknowledged_2xx_is_reported_when_timer_l_fires():
    layer = TransactionLayer()
    invite = req("INVITE", branch="z9hG4bKinv")
    [new, *_] = layer.receive(invite, 0.0, reliable=True)
    ok = make_response(invite, 200, to_tag="s1")
    layer.send_response(new.transaction, ok, 0.0)
    events = layer.handle_timer(32.0)
    assert [type(e).__name__ for e in events if not isinstance(e, Outgoing)] == ["AckTimeout"]
    timeout = next(e for e in events if isinstance(e, AckTimeout))
    assert timeout.invite is invite and timeout.response is ok
    assert len(layer) == 0 and not layer._accepted


def test_a_proxy_takes_a_spiral_for_a_new_request_not_a_merge():
    layer = TransactionLayer(merge_detection=False)
    first = req(branch="z9hG4bKp1", host="p1.example.com")
    layer.receive(first, 0.0, reliable=False)
    second = req(branch="z9hG4bKp2", host="p2.example.com")
    [event] = layer.receive(second, 0.1, reliable=False)
    assert isinstance(event, RequestReceived) and event.request is second
