"""A client and a server transaction back to back over an in-memory network
that drops, duplicates and reorders datagrams (STYLE: back-to-back pairs).
With 30% loss every transaction still completes, or times out exactly when
the RFC says it must."""

from __future__ import annotations

import heapq
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sipstack.message import Request, Response, make_request, make_response, parse
from sipstack.transaction import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    MessageToSend,
    ResponseToTU,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    TransactionTimeout,
)


class Net:
    """Datagrams in flight: each may be lost, duplicated or delayed."""

    def __init__(self, rng: random.Random, loss: float, dup: float) -> None:
        self.rng, self.loss, self.dup = rng, loss, dup
        self.queue: list[tuple[float, int, str, bytes]] = []
        self.seq = 0
        self.delivered = {"server": 0, "client": 0}
        self.sent = {"server": 0, "client": 0}

    def send(self, now: float, to: str, data: bytes) -> None:
        self.sent[to] += 1
        copies = 2 if self.rng.random() < self.dup else 1
        for _ in range(copies):
            if self.rng.random() < self.loss:
                continue
            self.seq += 1
            heapq.heappush(self.queue, (now + self.rng.uniform(0.001, 0.3), self.seq, to, data))


def run(rng: random.Random, loss: float, invite: bool, final: int = 200):
    method = "INVITE" if invite else "MESSAGE"
    req = make_request(
        method,
        "sip:b@x",
        from_addr="<sip:a@x>",
        to_addr="<sip:b@x>",
        via="SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsim",
    )
    net = Net(rng, loss, dup=0.1)
    client = (ClientInviteTransaction if invite else ClientNonInviteTransaction)(
        req, reliable=False
    )
    server = None
    tu_responses: list[Response] = []
    outcome = None
    now = 0.0

    def out(events, side):
        nonlocal outcome
        for e in events:
            if isinstance(e, MessageToSend):
                net.send(now, "server" if side == "client" else "client", bytes(e.message))
            elif isinstance(e, ResponseToTU) and side == "client":
                tu_responses.append(e.response)
                outcome = outcome or "answered"
            elif isinstance(e, TransactionTimeout) and side == "client":
                outcome = outcome or "timeout"

    out(client.start(now), "client")
    for _ in range(10_000):  # bounded: every loop either delivers or fires a timer
        deadlines = [
            d for d in (client.next_deadline, server and server.next_deadline) if d is not None
        ]
        nxt = min([*deadlines, *([net.queue[0][0]] if net.queue else [])], default=None)
        if nxt is None:
            break
        now = nxt
        if net.queue and net.queue[0][0] <= now:
            _, _, to, data = heapq.heappop(net.queue)
            msg = parse(data)
            net.delivered[to] += 1
            if to == "server":
                assert isinstance(msg, Request)
                if server is None:
                    server = (ServerInviteTransaction if invite else ServerNonInviteTransaction)(
                        msg, reliable=False
                    )
                    if invite:
                        out(server.start(now), "server")
                    out(
                        server.send_response(make_response(msg, final, to_tag="srv"), now), "server"
                    )
                elif not server.terminated:
                    out(server.receive_request(msg, now), "server")
            elif not client.terminated:
                assert isinstance(msg, Response)
                out(client.receive_response(msg, now), "client")
        for tx, side in ((client, "client"), (server, "server")):
            if tx is not None and tx.next_deadline is not None and tx.next_deadline <= now:
                out(tx.handle_timer(now), side)
    return outcome, client, server, net, tu_responses


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), invite=st.booleans(), final=st.sampled_from([200, 486]))
def test_thirty_percent_loss_completes_or_times_out_correctly(seed, invite, final):
    outcome, client, server, net, answers = run(random.Random(seed), 0.3, invite, final)
    assert client.terminated  # nothing hangs: every path ends in Terminated
    assert outcome in ("answered", "timeout")
    if outcome == "answered":
        assert answers[0].status == final
    else:
        # A timeout is only allowed when no response ever reached the client.
        assert net.delivered["client"] == 0
    if server is not None:
        assert server.terminated or server.next_deadline is not None


def test_no_loss_answers_on_first_try():
    for invite in (False, True):
        outcome, client, _, _net, answers = run(random.Random(1), 0.0, invite)
        assert outcome == "answered" and answers[0].status == 200
        assert client.terminated


def test_total_loss_times_out_after_every_retransmission():
    # Non-INVITE: Timer E sends 11 times in all before Timer F; INVITE: Timer A 7 times before B.
    for invite, sends in ((False, 11), (True, 7)):
        outcome, client, server, net, _ = run(random.Random(2), 1.0, invite=invite)
        assert outcome == "timeout" and server is None and client.terminated
        assert net.sent["server"] == sends
