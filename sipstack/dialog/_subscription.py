"""RFC 6665 subscriptions, both ends, sans-I/O: the subscriber's view
(SUBSCRIBE sent, NOTIFYs received, refresh and timeout deadlines) and the
notifier's (SUBSCRIBE received, NOTIFYs built, expiry).

Time is passed in; each side reports the deadline it needs next
(:attr:`Subscriber.refresh_at`, :attr:`Subscriber.expires_at`,
:attr:`Notifier.expires_at`) and the shell acts on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import SIPParseError, SIPUsageError
from ..message import Request, Response
from ._dialog import Dialog, DialogError, DialogState

__all__ = [
    "NO_RETRY_REASONS",
    "Notification",
    "Notifier",
    "Subscriber",
    "SubscriptionStatus",
]

#: Termination reasons after which a new subscription is pointless
#: (RFC 6665 §4.2.2 / RFC 3265 §3.2.4): the notifier refused for good.
NO_RETRY_REASONS = frozenset({"rejected", "noresource", "invariant"})


class SubscriptionStatus(enum.Enum):
    """Where a subscription is."""

    INIT = "init"  # SUBSCRIBE sent, neither a 2xx nor a NOTIFY yet
    PENDING = "pending"
    ACTIVE = "active"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class Notification:
    """What one NOTIFY said."""

    status: SubscriptionStatus
    reason: str | None
    expires: int | None
    retry_after: int | None
    content_type: str | None
    body: bytes


class Subscriber:
    """The subscriber's side of one subscription to ``event`` (with
    ``event_id``) created by ``request`` (the initial SUBSCRIBE, as sent).

    ``timer_n`` is how long to wait for the first NOTIFY after a 2xx
    (64*T1, RFC 6665 §4.1.2.4).
    """

    def __init__(self, request: Request, now: float, *, timer_n: float = 32.0) -> None:
        if request.method != "SUBSCRIBE":
            raise SIPUsageError("a subscription starts with a SUBSCRIBE")
        event = request.event
        if event is None:
            raise SIPUsageError("a SUBSCRIBE needs an Event header")
        self.request = request
        self.event = event.package
        self.event_id = event.id
        self.status = SubscriptionStatus.INIT
        self.dialog: Dialog | None = None
        self.reason: str | None = None
        self.retry_after: int | None = None
        #: When the subscription lapses unless refreshed (or, before any
        #: answer, when to give up: Timer N).
        self.expires_at: float | None = None
        self._timer_n = timer_n
        self._notified = False
        self._started = now

    @property
    def id(self) -> tuple[str, str, str] | None:
        """The dialog id, once there is a dialog."""
        return None if self.dialog is None else self.dialog.id

    @property
    def terminated(self) -> bool:
        """Whether the subscription has ended (read afresh after an await:
        a NOTIFY may have ended it meanwhile)."""
        return self.status is SubscriptionStatus.TERMINATED

    @property
    def refresh_at(self) -> float | None:
        """When to send a refreshing SUBSCRIBE: a bit before expiry (at most
        a minute before, at least halfway)."""
        if self.status not in (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE):
            return None
        if self.expires_at is None:
            return None
        left = self.expires_at - self._started
        return self.expires_at - min(60.0, left / 2)

    def receive_response(self, request: Request, response: Response, now: float) -> None:
        """The final response to a SUBSCRIBE of this subscription (initial,
        refresh or unsubscribe)."""
        status = response.status
        if status >= 300:
            if self.dialog is None or status in (481, 408) or request is self.request:
                self.status = SubscriptionStatus.TERMINATED
                self.reason = "rejected" if status in (403, 603, 489) else f"status {status}"
                if self.dialog is not None:
                    self.dialog.terminate()
            return
        if status < 200:
            return
        if self.dialog is None:
            self.dialog = Dialog.as_uac(request, response)
        else:
            self.dialog.receive_response(request, response)
        expires = response.expires
        if expires is None:
            expires = request.expires
        if expires is not None:
            self._started = now
            self.expires_at = now + expires
        if self.status is SubscriptionStatus.INIT:
            self.status = SubscriptionStatus.PENDING
            if not self._notified:
                # Timer N: the NOTIFY must follow the 2xx.
                self.expires_at = min(self.expires_at or now + self._timer_n, now + self._timer_n)

    def matches(self, notify: Request) -> bool:
        """Whether ``notify`` belongs to this subscription (before its
        dialog exists: Call-ID, our From tag as its To tag, and the Event)."""
        request = self.request
        if notify.call_id != request.call_id or notify.to_tag != request.from_addr.tag:
            return False
        if self.dialog is not None and notify.from_addr.tag != self.dialog.remote_tag:
            return False
        event = notify.event
        return (
            event is not None
            and event.package.lower() == self.event.lower()
            and event.id == self.event_id
        )

    def receive_notify(self, notify: Request, now: float) -> Notification:
        """A NOTIFY for this subscription (possibly before the 2xx to the
        SUBSCRIBE: it then creates the dialog, §4.1.2.4).  Raises
        :class:`DialogError` with the status to answer (400 without
        Subscription-State, 481 when it does not match, 500 out of order)."""
        if not self.matches(notify):
            raise DialogError("NOTIFY for another subscription", status=481)
        try:
            state = notify.subscription_state
        except SIPParseError as exc:
            raise DialogError(f"bad Subscription-State: {exc}", status=400) from None
        if state is None:
            raise DialogError("NOTIFY without Subscription-State", status=400)
        if self.dialog is None:
            self.dialog = _dialog_from_notify(self.request, notify)
        self.dialog.receive_request(notify)
        self._notified = True
        try:
            status = SubscriptionStatus(state.state)
        except ValueError:
            status = SubscriptionStatus.PENDING  # an extension state: not active yet
        if status is SubscriptionStatus.INIT:
            status = SubscriptionStatus.PENDING
        self.status = status
        self.reason = state.reason
        self.retry_after = state.retry_after
        if status is SubscriptionStatus.TERMINATED:
            self.dialog.terminate()
            self.expires_at = None
        elif state.expires is not None:
            self._started = now
            self.expires_at = now + state.expires
        ctype = notify.headers.get("Content-Type")
        return Notification(
            status, state.reason, state.expires, state.retry_after, ctype, notify.body
        )

    def refresh(self, expires: int, *, contact: str | None = None) -> Request:
        """The SUBSCRIBE that refreshes (or, with ``expires=0``, ends) the
        subscription inside its dialog."""
        if self.dialog is None or self.dialog.state is DialogState.TERMINATED:
            raise SIPUsageError("the subscription has no dialog to refresh")
        headers = [("Event", self.request.headers.get("Event") or self.event)]
        headers.append(("Expires", str(expires)))
        accept = self.request.headers.get("Accept")
        if accept is not None:
            headers.append(("Accept", accept))
        return self.dialog.create_request("SUBSCRIBE", headers=headers, contact=contact)

    def expired(self, now: float) -> bool:
        """Whether the subscription lapsed (no refresh answered, or no
        NOTIFY within Timer N); it is then terminated with reason
        ``timeout``."""
        if self.status is SubscriptionStatus.TERMINATED:
            return False
        if self.expires_at is not None and now >= self.expires_at:
            self.status = SubscriptionStatus.TERMINATED
            self.reason = "timeout"
            if self.dialog is not None:
                self.dialog.terminate()
            return True
        return False


def _dialog_from_notify(subscribe: Request, notify: Request) -> Dialog:
    """A NOTIFY that arrives before the 2xx creates the dialog: its From tag
    is the remote tag and its Contact the remote target (RFC 6665
    §4.1.2.4), its Record-Route the route set as a UAS sees it."""
    contacts = notify.contacts
    if not contacts:
        raise DialogError("a NOTIFY that creates a dialog needs a Contact", status=400)
    return Dialog(
        call_id=subscribe.call_id,
        local_tag=subscribe.from_addr.tag or "",
        remote_tag=notify.from_addr.tag or "",
        local_uri=notify.to_addr.with_params(notify.to_addr.params.without("tag")),
        remote_uri=notify.from_addr.with_params(notify.from_addr.params.without("tag")),
        remote_target=contacts[0].uri,
        route_set=notify.record_routes,
        local_seq=subscribe.cseq.seq,
    )


class Notifier:
    """The notifier's side of one subscription, from the SUBSCRIBE that
    created it; answer that SUBSCRIBE with To tag ``local_tag`` and
    :attr:`granted` as Expires, then send :meth:`notify` at once.
    ``contact`` goes into every NOTIFY (or pass one to :meth:`notify`)."""

    def __init__(
        self,
        request: Request,
        local_tag: str,
        now: float,
        *,
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 600,
        contact: str | None = None,
    ) -> None:
        event = request.event
        if event is None:
            raise DialogError("SUBSCRIBE without Event", status=489)
        self._setup(
            Dialog.as_uas(request, local_tag),
            event.package,
            event.id,
            str(request.from_addr.uri),
            contact,
            (min_expires, max_expires, default_expires),
        )
        self.expires_at = now
        self._grant(request, now)

    def _setup(
        self,
        dialog: Dialog,
        event: str,
        event_id: str | None,
        watcher: str,
        contact: str | None,
        limits: tuple[int, int, int],
    ) -> None:
        self.event = event
        self.event_id = event_id
        self.dialog = dialog
        self.status = SubscriptionStatus.ACTIVE
        self._limits = limits
        self.granted = 0
        self.expires_at = 0.0
        self.watcher = watcher
        #: The notifier's Contact, put in every NOTIFY (RFC 6665 §4.1.2.2:
        #: a NOTIFY that creates the dialog at the subscriber needs one).
        self.contact = contact

    @classmethod
    def restore(
        cls,
        dialog: Dialog,
        *,
        event: str,
        event_id: str | None,
        watcher: str,
        expires_at: float,
        now: float,
        contact: str | None = None,
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 600,
    ) -> Notifier:
        """An active subscription taken up again from stored state (after a
        restart): ``dialog`` goes on from its stored CSeqs, the expiry stays
        what was granted.  RFC 6665 §4.2.2 lets a notifier send a NOTIFY
        at any time, so the caller may send the current state at once."""
        self = cls.__new__(cls)
        self._setup(
            dialog, event, event_id, watcher, contact, (min_expires, max_expires, default_expires)
        )
        self.expires_at = expires_at
        self.granted = max(0, int(expires_at - now))
        return self

    def _grant(self, request: Request, now: float) -> int:
        low, high, default = self._limits
        asked = request.expires
        if asked is None:
            asked = default
        if 0 < asked < low:
            raise DialogError(f"Expires {asked} is below {low}", status=423)
        self.granted = min(asked, high)
        self.expires_at = now + self.granted
        return self.granted

    def receive_subscribe(self, request: Request, now: float) -> int:
        """A refreshing SUBSCRIBE in the dialog; returns the seconds
        granted (0: the subscriber ends it, send the final NOTIFY)."""
        self.dialog.receive_request(request)
        granted = self._grant(request, now)
        if granted == 0:
            self.status = SubscriptionStatus.TERMINATED
        return granted

    def notify(
        self,
        body: bytes = b"",
        content_type: str | None = None,
        now: float | None = None,
        *,
        reason: str | None = None,
        contact: str | None = None,
    ) -> Request:
        """The next NOTIFY: ``Subscription-State: active;expires=N`` with the
        time left (``now`` given), or ``terminated;reason=…`` once the
        subscription ended (``reason`` given or the status says so)."""
        if reason is not None:
            self.status = SubscriptionStatus.TERMINATED
        if self.status is SubscriptionStatus.TERMINATED:
            state = f"terminated;reason={reason or 'timeout'}"
        else:
            left = self.granted if now is None else max(0, int(self.expires_at - now))
            state = f"{self.status.value};expires={left}"
        event = self.event if self.event_id is None else f"{self.event};id={self.event_id}"
        request = self.dialog.create_request(
            "NOTIFY",
            headers=[("Event", event), ("Subscription-State", state)],
            body=body,
            content_type=content_type,
            contact=contact or self.contact,
        )
        if self.status is SubscriptionStatus.TERMINATED:
            self.dialog.terminate()
        return request

    def expired(self, now: float) -> bool:
        """Whether the subscription ran out without a refresh (send the
        final NOTIFY with reason ``timeout``)."""
        return self.status is not SubscriptionStatus.TERMINATED and now >= self.expires_at
