"""Non-INVITE client and server transactions (RFC 3261 §17.1.2, §17.2.2)
driven by a fake clock: every transition, timer and retransmission interval,
in microseconds."""

from __future__ import annotations

import pytest
from fakeclock import run_timers

from sipstack.message import Request, make_request, make_response
from sipstack.transaction import (
    ClientNonInviteTransaction,
    MessageToSend,
    ResponseToTU,
    ServerNonInviteTransaction,
    State,
    TimerConfig,
    TransactionError,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
)


def options() -> Request:
    return make_request(
        "OPTIONS",
        "sip:bob@example.com",
        from_addr="<sip:alice@example.com>",
        to_addr="<sip:bob@example.com>",
        via="SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKtest1",
    )


# -- client ------------------------------------------------------------------


def test_client_udp_retransmits_with_doubling_then_times_out():
    tx = ClientNonInviteTransaction(options(), reliable=False)
    assert tx.start(0.0) == [MessageToSend(tx.request)]
    fired = run_timers(tx, 100.0)
    resends = [t for t, e in fired if isinstance(e, MessageToSend)]
    # Timer E: T1, then doubling up to T2 (RFC 3261 §17.1.2.2)
    assert resends == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert all(e.retransmission for _, e in fired if isinstance(e, MessageToSend))
    assert fired[-2:] == [(32.0, TransactionTimeout("F")), (32.0, TransactionTerminated())]
    assert tx.state is State.TERMINATED and tx.next_deadline is None


def test_client_tcp_never_retransmits():
    tx = ClientNonInviteTransaction(options(), reliable=True)
    tx.start(10.0)
    assert tx.pending_timers() == {"F": 42.0}
    fired = run_timers(tx, 100.0)
    assert [e for _, e in fired] == [TransactionTimeout("F"), TransactionTerminated()]


def test_client_timer_values_follow_configuration():
    tx = ClientNonInviteTransaction(
        options(), reliable=False, timers=TimerConfig(t1=0.1, t2=0.3, t4=1.0)
    )
    tx.start(0.0)
    fired = run_timers(tx, 10.0)
    resends = [round(t, 6) for t, e in fired if isinstance(e, MessageToSend)]
    assert resends[:5] == [0.1, 0.3, 0.6, 0.9, 1.2]
    assert fired[-2][0] == pytest.approx(6.4)  # Timer F = 64*T1


def test_client_proceeding_retransmits_every_t2():
    req = options()
    tx = ClientNonInviteTransaction(req, reliable=False)
    tx.start(0.0)
    trying = make_response(req, 100)
    assert tx.receive_response(trying, 0.2) == [ResponseToTU(trying)]
    assert tx.state is State.PROCEEDING
    fired = run_timers(tx, 13.0)
    assert [t for t, _ in fired] == [0.5, 4.5, 8.5, 12.5]


def test_client_final_response_completes_and_timer_k_absorbs():
    req = options()
    tx = ClientNonInviteTransaction(req, reliable=False)
    tx.start(0.0)
    ok = make_response(req, 200, to_tag="t1")
    assert tx.receive_response(ok, 0.7) == [ResponseToTU(ok)]
    assert tx.state is State.COMPLETED
    assert tx.pending_timers() == {"K": 5.7}  # E and F cancelled; K = T4
    assert tx.receive_response(ok, 1.0) == []  # retransmission absorbed
    assert tx.receive_response(make_response(req, 100), 1.1) == []
    assert tx.handle_timer(5.6) == []
    assert tx.handle_timer(5.7) == [TransactionTerminated()]


def test_client_reliable_completed_ends_at_once():
    req = options()
    tx = ClientNonInviteTransaction(req, reliable=True)
    tx.start(0.0)
    tx.receive_response(make_response(req, 404), 0.1)
    assert tx.next_deadline == 0.1
    assert tx.handle_timer(0.1) == [TransactionTerminated()]


def test_client_transport_error():
    tx = ClientNonInviteTransaction(options(), reliable=False)
    tx.start(0.0)
    assert tx.transport_error(0.1, "ICMP unreachable") == [
        TransportError("ICMP unreachable"),
        TransactionTerminated(),
    ]
    assert tx.terminated


def test_client_misuse_is_refused():
    req = options()
    tx = ClientNonInviteTransaction(req, reliable=False)
    tx.start(0.0)
    with pytest.raises(TransactionError):
        tx.start(0.1)
    tx.transport_error(0.2, "x")
    with pytest.raises(TransactionError):
        tx.receive_response(make_response(req, 200), 0.3)
    invite = make_request("INVITE", "sip:b@x", from_addr="<sip:a@x>", to_addr="<sip:b@x>")
    with pytest.raises(ValueError):
        ClientNonInviteTransaction(invite, reliable=True)


# -- server ------------------------------------------------------------------


def test_server_absorbs_then_resends_last_response():
    req = options()
    tx = ServerNonInviteTransaction(req, reliable=False)
    assert tx.receive_request(req, 0.0) == []  # Trying: absorbed
    ringing = make_response(req, 180, to_tag="s")
    assert tx.send_response(ringing, 0.1) == [MessageToSend(ringing)]
    assert tx.state is State.PROCEEDING
    assert tx.receive_request(req, 0.2) == [MessageToSend(ringing, retransmission=True)]
    ok = make_response(req, 200, to_tag="s")
    assert tx.send_response(ok, 0.3) == [MessageToSend(ok)]
    assert tx.state is State.COMPLETED
    assert tx.pending_timers() == {"J": pytest.approx(32.3)}  # 64*T1
    assert tx.receive_request(req, 1.0) == [MessageToSend(ok, retransmission=True)]
    with pytest.raises(TransactionError):
        tx.send_response(ok, 1.1)  # a second final response is a TU bug
    assert tx.handle_timer(32.3) == [TransactionTerminated()]


def test_server_reliable_timer_j_is_zero():
    req = options()
    tx = ServerNonInviteTransaction(req, reliable=True)
    tx.send_response(make_response(req, 200, to_tag="s"), 5.0)
    assert tx.pending_timers() == {"J": 5.0}
    assert tx.handle_timer(5.0) == [TransactionTerminated()]


def test_server_transport_error_terminates():
    req = options()
    tx = ServerNonInviteTransaction(req, reliable=False)
    tx.send_response(make_response(req, 200, to_tag="s"), 0.0)
    assert tx.transport_error(0.1, "reset") == [TransportError("reset"), TransactionTerminated()]


# -- the tables: every (state, input) pair not listed is refused ------------

CLIENT_INPUTS = {i for _, i in ClientNonInviteTransaction.TABLE}
SERVER_INPUTS = {i for _, i in ServerNonInviteTransaction.TABLE}


def client_in(state: State) -> ClientNonInviteTransaction:
    req = options()
    tx = ClientNonInviteTransaction(req, reliable=False)
    if state is State.TRYING:
        return tx
    tx.start(0.0)
    if state is State.PROCEEDING:
        tx.receive_response(make_response(req, 100), 0.1)
    elif state is State.COMPLETED:
        tx.receive_response(make_response(req, 200), 0.1)
    elif state is State.TERMINATED:
        tx.transport_error(0.1, "x")
    return tx


def server_in(state: State) -> ServerNonInviteTransaction:
    req = options()
    tx = ServerNonInviteTransaction(req, reliable=False)
    if state is State.PROCEEDING:
        tx.send_response(make_response(req, 100), 0.0)
    elif state is State.COMPLETED:
        tx.send_response(make_response(req, 200), 0.0)
    elif state is State.TERMINATED:
        tx.transport_error(0.0, "x")
    return tx


STATES = [State.TRYING, State.PROCEEDING, State.COMPLETED, State.TERMINATED]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("inp", sorted(CLIENT_INPUTS))
def test_client_table_is_total(state, inp):
    tx = client_in(state)
    if state is State.TRYING and inp != "start":
        tx.start(0.0)  # a Trying transaction has always been started
    if (state, inp) in ClientNonInviteTransaction.TABLE and not (
        state is State.TRYING and inp == "start"
    ):
        tx._fire(inp, 1.0, make_response(tx.request, 100 if inp == "1xx" else 200))
    elif (state, inp) not in ClientNonInviteTransaction.TABLE:
        with pytest.raises(TransactionError):
            tx._fire(inp, 1.0, make_response(tx.request, 200))


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("inp", sorted(SERVER_INPUTS))
def test_server_table_is_total(state, inp):
    tx = server_in(state)
    arg = (
        tx.request
        if inp == "request"
        else make_response(tx.request, 100 if inp == "send_1xx" else 200)
    )
    if (state, inp) in ServerNonInviteTransaction.TABLE:
        tx._fire(inp, 1.0, arg)
    else:
        with pytest.raises(TransactionError):
            tx._fire(inp, 1.0, arg)
