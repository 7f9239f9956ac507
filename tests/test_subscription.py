"""RFC 6665 subscriptions, sans-I/O: both ends in memory with a fake clock."""

from __future__ import annotations

import pytest

from sipstack.dialog import DialogError, Notifier, Subscriber, SubscriptionStatus
from sipstack.errors import SIPUsageError
from sipstack.message import Request, Response, make_request, make_response, parse


def wire(message: Request | Response) -> Request | Response:
    if isinstance(message, Request) and "Via" not in message.headers:
        message.headers.add("Via", "SIP/2.0/UDP h.example.com;branch=z9hG4bKs", first=True)
    return parse(bytes(message))


def subscribe(expires: int = 600, event: str = "presence;id=7") -> Request:
    req = make_request(
        "SUBSCRIBE",
        "sip:carol@example.com",
        from_addr="<sip:bob@example.com>;tag=b1",
        to_addr="<sip:carol@example.com>",
        call_id="sub-1",
        contact="<sip:bob@192.0.2.2>",
        headers=[("Event", event), ("Expires", str(expires)), ("Accept", "application/pidf+xml")],
    )
    out = wire(req)
    assert isinstance(out, Request)
    return out


def both(now: float = 0.0, expires: int = 600) -> tuple[Subscriber, Notifier, Request, Response]:
    req = subscribe(expires)
    watcher = Subscriber(req, now)
    notifier = Notifier(req, "c1", now)
    ok = wire(
        make_response(
            req,
            200,
            to_tag="c1",
            headers=[("Expires", str(notifier.granted)), ("Contact", "<sip:carol@192.0.2.3>")],
        )
    )
    assert isinstance(ok, Response)
    return watcher, notifier, req, ok


def test_subscribe_200_notify_active_then_unsubscribe() -> None:
    watcher, notifier, req, ok = both()
    watcher.receive_response(req, ok, 0.0)
    assert watcher.status is SubscriptionStatus.PENDING
    assert watcher.expires_at == 32.0  # Timer N until the first NOTIFY
    notify = wire(notifier.notify(b"<presence/>", "application/pidf+xml", 0.5))
    assert isinstance(notify, Request)
    assert notify.headers.get("Event") == "presence;id=7"
    assert notify.headers.get("Subscription-State") == "active;expires=599"
    note = watcher.receive_notify(notify, 0.5)
    assert note.status is SubscriptionStatus.ACTIVE and note.body == b"<presence/>"
    assert watcher.expires_at == 599.5
    assert watcher.refresh_at == pytest.approx(539.5)  # a minute before expiry
    bye = wire(watcher.refresh(0))
    assert isinstance(bye, Request)
    assert bye.expires == 0 and bye.cseq.seq == 2 and bye.to_tag == "c1"
    assert notifier.receive_subscribe(bye, 10.0) == 0
    final = wire(notifier.notify(now=10.0))
    assert isinstance(final, Request)
    assert final.headers.get("Subscription-State") == "terminated;reason=timeout"
    watcher.receive_notify(final, 10.0)
    assert watcher.terminated and watcher.reason == "timeout"


def test_notify_before_the_200_creates_the_dialog() -> None:
    watcher, notifier, req, ok = both()
    notify = wire(notifier.notify(b"", None, 0.0, contact="<sip:carol@192.0.2.3>"))
    watcher.receive_notify(notify, 0.0)  # type: ignore[arg-type]
    assert watcher.dialog is not None and watcher.dialog.remote_tag == "c1"
    assert str(watcher.dialog.remote_target) == "sip:carol@192.0.2.3"  # notifier's Contact
    watcher.receive_response(req, ok, 0.1)
    assert watcher.status is SubscriptionStatus.ACTIVE


def test_timer_n_without_notify_ends_with_timeout() -> None:
    watcher, _, req, ok = both()
    watcher.receive_response(req, ok, 0.0)
    assert not watcher.expired(31.9)
    assert watcher.expired(32.0) and watcher.reason == "timeout" and watcher.terminated


def test_notify_errors_carry_the_status_to_answer() -> None:
    watcher, notifier, req, ok = both()
    watcher.receive_response(req, ok, 0.0)
    notify = notifier.notify(b"", None, 0.0)
    notify.headers.remove("Subscription-State")
    with pytest.raises(DialogError) as info:
        watcher.receive_notify(wire(notify), 0.0)  # type: ignore[arg-type]
    assert info.value.status == 400
    other = notifier.notify(b"", None, 0.0)
    other.headers.set("Event", "presence;id=8")  # another subscription in the dialog
    with pytest.raises(DialogError) as info:
        watcher.receive_notify(wire(other), 0.0)  # type: ignore[arg-type]
    assert info.value.status == 481


def test_rejected_subscribe_terminates() -> None:
    req = subscribe()
    watcher = Subscriber(req, 0.0)
    watcher.receive_response(req, wire(make_response(req, 403, to_tag="x")), 0.0)  # type: ignore[arg-type]
    assert watcher.terminated and watcher.reason == "rejected"


def test_notifier_expiry_limits() -> None:
    with pytest.raises(DialogError) as info:
        Notifier(subscribe(expires=5), "c1", 0.0)
    assert info.value.status == 423
    capped = Notifier(subscribe(expires=100_000), "c1", 0.0)
    assert capped.granted == 3600 and not capped.expired(3599.0) and capped.expired(3600.0)
    with pytest.raises(SIPUsageError):
        Subscriber(
            wire(make_request("MESSAGE", "sip:a@b", from_addr="<sip:c@d>", to_addr="<sip:a@b>")),
            0.0,
        )  # type: ignore[arg-type]
