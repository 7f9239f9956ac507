"""RFC 3261 §12 dialogs: the state two user agents share between an
INVITE (or SUBSCRIBE, REFER …) and its end.

A dialog is identified by Call-ID, local tag and remote tag; it knows the
remote target (the peer's Contact), the route set (Record-Route), and the
two CSeq spaces.  It builds the requests sent inside it (§12.2.1.1) and
checks the ones received (§12.2.2).  Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from ..errors import SIPParseError, SIPUsageError
from ..message import Address, Request, Response, SipURI
from ..message._uri import URI

__all__ = [
    "TARGET_REFRESH",
    "Dialog",
    "DialogError",
    "DialogId",
    "DialogState",
    "cancel_for",
    "uac_dialog_id",
    "uas_dialog_id",
]

#: (Call-ID, local tag, remote tag).
DialogId = tuple[str, str, str]

#: Requests whose Contact replaces the remote target (§12.2, RFC 3311,
#: RFC 6665 §4.1.2.4 / §4.2.1.4).
TARGET_REFRESH = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})


class DialogState(enum.Enum):
    """Where a dialog is in its life (§12)."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class DialogError(SIPParseError):
    """A request or response the dialog cannot accept; ``status`` is the
    answer (500 for a CSeq out of order, §12.2.2; 481 for a dialog that
    does not exist)."""

    status = 500


def uac_dialog_id(message: Request | Response) -> DialogId:
    """The dialog id as the side that sent the dialog-creating request sees
    it: local tag in From, remote tag in To."""
    return (message.call_id, message.from_addr.tag or "", message.to_addr.tag or "")


def uas_dialog_id(message: Request | Response) -> DialogId:
    """The dialog id of a request as its receiver sees it: local tag in To,
    remote tag in From."""
    return (message.call_id, message.to_addr.tag or "", message.from_addr.tag or "")


def _untagged(addr: Address) -> Address:
    return Address(addr.uri, addr.display_name, addr.params.without("tag"))


class Dialog:
    """One dialog.  Create it with :meth:`as_uac` from a response with a To
    tag, or :meth:`as_uas` from the request being answered."""

    __slots__ = (
        "call_id",
        "local_seq",
        "local_tag",
        "local_uri",
        "remote_seq",
        "remote_tag",
        "remote_target",
        "remote_uri",
        "route_set",
        "secure",
        "state",
    )

    def __init__(
        self,
        *,
        call_id: str,
        local_tag: str,
        remote_tag: str,
        local_uri: Address,
        remote_uri: Address,
        remote_target: URI,
        route_set: Iterable[Address] = (),
        local_seq: int = 0,
        remote_seq: int | None = None,
        secure: bool = False,
        state: DialogState = DialogState.CONFIRMED,
    ) -> None:
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_uri = local_uri
        self.remote_uri = remote_uri
        self.remote_target = remote_target
        self.route_set = tuple(route_set)
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.secure = secure
        self.state = state

    def __repr__(self) -> str:
        return (
            f"Dialog({self.call_id!r}, {self.local_tag!r}, {self.remote_tag!r}, {self.state.value})"
        )

    @property
    def id(self) -> DialogId:
        """(Call-ID, local tag, remote tag)."""
        return (self.call_id, self.local_tag, self.remote_tag)

    # -- creation -----------------------------------------------------------------
    @classmethod
    def as_uac(cls, request: Request, response: Response) -> Dialog:
        """The dialog a 101-299 response with a To tag creates for the sender
        of ``request`` (§12.1.2); each forked response with another tag
        makes another dialog."""
        status = response.status
        if not 100 < status < 300:
            raise SIPUsageError(f"a {status} response does not create a dialog")
        remote_tag = response.to_tag
        if not remote_tag:
            raise DialogError("a dialog-creating response without a To tag", status=400)
        contacts = response.contacts
        target = contacts[0].uri if contacts else None
        if target is None:
            if status >= 200:
                raise DialogError("a 2xx that creates a dialog must have a Contact", status=400)
            target = request.uri  # an early dialog may come without one
        return cls(
            call_id=request.call_id,
            local_tag=request.from_addr.tag or "",
            remote_tag=remote_tag,
            local_uri=_untagged(request.from_addr),
            remote_uri=_untagged(response.to_addr),
            remote_target=target,
            route_set=reversed(response.record_routes),
            local_seq=request.cseq.seq,
            secure=_is_sips(request.uri),
            state=DialogState.EARLY if status < 200 else DialogState.CONFIRMED,
        )

    @classmethod
    def as_uas(cls, request: Request, local_tag: str, *, confirmed: bool = True) -> Dialog:
        """The dialog the receiver of ``request`` creates when it answers
        with To tag ``local_tag`` (§12.1.1); ``confirmed=False`` for an early
        dialog (a 1xx)."""
        contacts = request.contacts
        if not contacts:
            raise DialogError(
                f"a {request.method} that creates a dialog needs a Contact", status=400
            )
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_addr.tag or "",
            local_uri=_untagged(request.to_addr),
            remote_uri=_untagged(request.from_addr),
            remote_target=contacts[0].uri,
            route_set=request.record_routes,
            remote_seq=request.cseq.seq,
            secure=_is_sips(request.uri),
            state=DialogState.CONFIRMED if confirmed else DialogState.EARLY,
        )

    # -- sending --------------------------------------------------------------------
    def create_request(
        self,
        method: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
        contact: Address | str | None = None,
        cseq: int | None = None,
    ) -> Request:
        """A request inside the dialog (§12.2.1.1): Request-URI and Route
        from the remote target and route set (loose or strict routing), the
        dialog's tags, the next local CSeq (an ACK passes the INVITE's as
        ``cseq``)."""
        if self.state is DialogState.TERMINATED:
            raise SIPUsageError("the dialog has ended")
        method = method.upper()
        if cseq is None:
            if method in ("ACK", "CANCEL"):
                raise SIPUsageError(f"{method} takes the CSeq number of the request it is for")
            self.local_seq += 1
            cseq = self.local_seq
        uri, routes = self._route()
        lines: list[tuple[str, str]] = [
            ("Max-Forwards", "70"),
            ("From", str(self.local_uri.with_tag(self.local_tag))),
            (
                "To",
                str(
                    self.remote_uri.with_tag(self.remote_tag)
                    if self.remote_tag
                    else self.remote_uri
                ),
            ),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        lines += [("Route", r) for r in routes]
        if contact is not None:
            lines.append(("Contact", str(contact)))
        if content_type is not None:
            lines.append(("Content-Type", content_type))
        lines += list(headers)
        return Request(method, uri, lines, body)

    def _route(self) -> tuple[URI, list[str]]:
        routes = self.route_set
        if not routes:
            return self.remote_target, []
        first = routes[0].uri
        if isinstance(first, SipURI) and first.lr:
            return self.remote_target, [str(r) for r in routes]
        # A strict router (RFC 2543) takes the request with itself as the
        # Request-URI and the remote target appended as the last Route.
        if isinstance(first, SipURI):
            drop = ("method", "maddr", "ttl", "transport", "lr")  # §19.1.1 table
            first = first.replace(params=first.params.without(*drop), headers=())
        rest = [str(r) for r in routes[1:]]
        rest.append(f"<{self.remote_target}>")
        return first, rest

    def receive_response(self, request: Request, response: Response) -> None:
        """A response to a request this side sent in the dialog (or the 2xx
        that confirms an early dialog, §13.2.2.4): confirm it, refresh the
        target, end it on 481 or 408 (§12.2.1.2)."""
        status = response.status
        if status in (481, 408):
            self.state = DialogState.TERMINATED
            return
        if not 200 <= status < 300:
            return
        if self.state is DialogState.EARLY:
            self.state = DialogState.CONFIRMED
            self.route_set = tuple(reversed(response.record_routes))
        if request.method in TARGET_REFRESH and response.contacts:
            self.remote_target = response.contacts[0].uri

    # -- receiving -------------------------------------------------------------------
    def receive_request(self, request: Request) -> None:
        """Check a request received in the dialog (§12.2.2): its CSeq must
        be higher than the last one (else :class:`DialogError`, 500); a
        target-refresh request's Contact becomes the remote target."""
        method = request.method
        seq = request.cseq.seq
        if method not in ("ACK", "CANCEL"):
            if self.remote_seq is not None and seq <= self.remote_seq:
                raise DialogError(
                    f"CSeq {seq} is not above {self.remote_seq}", reason="Server Internal Error"
                )
            self.remote_seq = seq
        if method in TARGET_REFRESH:
            contacts = request.contacts
            if contacts:
                self.remote_target = contacts[0].uri

    def terminate(self) -> None:
        """The dialog has ended (BYE sent or received, or a failure)."""
        self.state = DialogState.TERMINATED


def cancel_for(request: Request) -> Request:
    """The CANCEL for a pending request (§9.1): the same Request-URI,
    Call-ID, From, To, CSeq number, Route set and top Via (so that it
    matches the request's transaction hop by hop)."""
    h = request.headers
    vias = h.get_list("Via")
    if not vias:
        raise SIPUsageError("only a request that was sent (it has a Via) can be cancelled")
    lines = [
        ("Via", vias[0]),
        ("Max-Forwards", "70"),
        ("From", h.get("From") or ""),
        ("To", h.get("To") or ""),
        ("Call-ID", request.call_id),
        ("CSeq", f"{request.cseq.seq} CANCEL"),
    ]
    lines += [("Route", v) for v in h.get_all("Route")]
    return Request("CANCEL", request.uri, lines)


def _is_sips(uri: URI) -> bool:
    return isinstance(uri, SipURI) and uri.secure
