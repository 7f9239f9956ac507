"""The stateful proxy (RFC 3261 §16): requests for local users go to their
registered contacts (all of them at once: parallel forking), responses come
back aggregated, dialogs stay on the server through Record-Route.

Policy: requests outside a dialog from local users must prove who they are
(407) and may only claim their own address; requests to local users from
elsewhere are challenged too unless anonymous inbound is allowed; requests
for other domains are refused (403) without federation.  Conversation URIs
go to the conversation focus.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence

from ..dialog import cancel_for
from ..endpoint import Endpoint, IncomingRequest
from ..errors import SIPParseError, SIPUsageError
from ..message import Request, Response, SipURI, Via, new_branch, parse_address, parse_auth
from ..transport import destination_for_request
from ._archive import ServerArchive
from ._common import local_contact
from ._focus import ConversationFocus
from ._presence import ACCESS_EVENT, PresenceServer
from ._registrar import Registrar, aor_of

__all__ = ["Proxy"]

log = logging.getLogger("sipstack.server")

# Branches of this proxy's Vias: the magic cookie, a marker, the loop hash.
_LOOP_PREFIX = "z9hG4bK-lp-"
# Event packages the presence server answers for local users.
PRESENCE_PACKAGES = ("presence", "presence.winfo", ACCESS_EVENT)
# Requests whose responses set up dialogs: the proxy records its route.
_RECORD_ROUTE = frozenset({"INVITE", "SUBSCRIBE", "REFER", "NOTIFY"})
# Methods the proxy forwards (REGISTER goes to the registrar).
FORWARDED = ("INVITE", "ACK", "BYE", "CANCEL", "MESSAGE", "INFO", "UPDATE", "SUBSCRIBE",
             "NOTIFY", "PUBLISH", "REFER", "OPTIONS", "PRACK")  # fmt: skip


class _Forward:
    """One forwarded request: its branches and the best answer so far."""

    def __init__(self, incoming: IncomingRequest, loop_hash: str) -> None:
        self.incoming = incoming
        self.loop_hash = loop_hash
        self.branches: list[Request] = []
        self.pending: set[int] = set()
        self.best: Response | None = None
        self.answered = False

    def branch_id(self, index: int) -> str:
        """The branch of the Via on branch ``index``: the loop hash, then
        something unique (RFC 3261 §16.6 step 8)."""
        return f"{_LOOP_PREFIX}{self.loop_hash}.{new_branch()[7:]}{index}"


class Proxy:
    """Forwards what the registrar does not handle."""

    def __init__(
        self,
        endpoint: Endpoint,
        registrar: Registrar,
        domains: Sequence[str],
        *,
        anonymous_inbound: bool = False,
        federation: bool = False,
        conversations: ConversationFocus | None = None,
        conversation_prefix: str = "conv-",
        presence: PresenceServer | None = None,
        archive: ServerArchive | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.registrar = registrar
        #: The first domain: the one a user at the server's own address is of.
        self.primary_domain = domains[0].lower()
        self.domains = {d.lower() for d in domains}
        self.anonymous_inbound = anonymous_inbound
        self.federation = federation
        self.focus = conversations
        self.conversation_prefix = conversation_prefix
        self.presence = presence
        self.archive = archive
        self._addresses: set[tuple[str, int]] | None = None
        self._forwards: dict[object, _Forward] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self) -> None:
        """Route every forwarded method to the proxy."""
        for method in FORWARDED:
            if method == "ACK":
                self.endpoint.route("ACK", self.on_ack)
            elif method != "CANCEL":
                self.endpoint.route(method, self.on_request)
        self.endpoint.on_cancel = self.on_cancel

    # -- who is this for --------------------------------------------------------------
    def _is_us(self, uri: object) -> bool:
        """A URI naming this server itself (a Route it recorded)."""
        if not isinstance(uri, SipURI):
            return False
        if uri.host.lower() in self.domains:
            return uri.user is None
        return self._our_address(uri)

    def _our_address(self, uri: SipURI) -> bool:
        return self._is_ours(uri.host, uri.port)

    def _is_ours(self, host: str, port: int | None) -> bool:
        ours = self._addresses
        if ours is None:
            # Computed once the endpoint listens (its ports are known then).
            ours = self._addresses = {
                (lst.local[0], p) for lst in self.endpoint.listeners for p in (lst.local[1], 5060)
            }
        return (host.lower().strip("[]"), port or 5060) in ours

    def _record_route(self, incoming: IncomingRequest) -> str:
        return local_contact(incoming)[:-1] + ";lr>"

    def _loop_hash(self, request: Request) -> str:
        """The loop-detection part of this proxy's branch (§16.6 step 8):
        a hash of what identifies the request as it arrived — Request-URI,
        tags, Call-ID, CSeq number, Proxy-Require, Proxy-Authorization.  (The
        topmost Via the RFC lists is left out: it differs each time a
        looping request comes back, which would hide the loop.)"""
        h = request.headers
        parts = [
            request.uri_text,
            request.to_tag or "",
            request.from_addr.tag or "",
            request.call_id,
            str(request.cseq.seq),
            *h.get_all("Proxy-Require"),
            *h.get_all("Proxy-Authorization"),
        ]
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]

    def _looped(self, request: Request) -> bool:
        """§16.3 step 4: the request carries a Via of ours whose branch
        holds the same loop hash — it has been here before unchanged, a loop
        (a spiral, back with another Request-URI, hashes differently)."""
        try:
            vias = request.vias
        except SIPParseError:
            return False
        ours = None
        for via in vias:
            branch = via.branch or ""
            if branch.startswith(_LOOP_PREFIX) and self._our_sent_by(via):
                if ours is None:
                    ours = _LOOP_PREFIX + self._loop_hash(request) + "."
                if branch.startswith(ours):
                    return True
        return False

    def _our_sent_by(self, via: Via) -> bool:
        host, port = via.sent_by
        return self._is_ours(host, port)

    def _for_presence(self, request: Request) -> bool:
        """A PUBLISH or SUBSCRIBE for a presence package of a local user
        (or, in a dialog, one of the presence server's subscriptions)."""
        if request.method not in ("PUBLISH", "SUBSCRIBE"):
            return False
        presence = self.presence
        assert presence is not None
        if request.to_tag:
            return request.method == "SUBSCRIBE" and presence.owns(request)
        event = request.event
        if event is None or event.package not in PRESENCE_PACKAGES:
            return False
        return presence.is_local(request.uri) and not self._is_conversation(request.uri)

    def _is_conversation(self, uri: object) -> bool:
        return (
            self.focus is not None
            and isinstance(uri, SipURI)
            and (uri.host.lower() in self.domains or self._our_address(uri))
            and (uri.user or "").startswith(self.conversation_prefix)
        )

    # -- requests ---------------------------------------------------------------------------
    async def on_request(self, incoming: IncomingRequest) -> None:
        """Route one request (§16.3 - §16.6)."""
        request = incoming.request
        try:
            max_forwards = request.max_forwards
        except SIPParseError:
            incoming.respond(400, "Bad Max-Forwards")
            return
        if max_forwards is not None and max_forwards <= 0:
            incoming.respond(483)
            return
        if self._looped(request):
            incoming.respond(482)
            return
        routes = list(request.headers.get_all("Route"))
        target = request.uri
        if self._is_us(target) and routes:
            # The previous hop is a strict router (RFC 2543): it put our
            # Record-Route in the Request-URI and the real target last in
            # Route (§16.4).
            last = _route_uri(routes.pop())
            if last is not None:
                target = last  # type: ignore[assignment]
        # Strip the Route that names us (we recorded it, §16.4).
        while routes and self._is_us(_route_uri(routes[0])):
            routes.pop(0)
        in_dialog = bool(request.to_tag)
        presence = self.presence
        if presence is not None and not routes and self._for_presence(request):
            if in_dialog:
                if request.method == "SUBSCRIBE" and presence.owns(request):
                    await presence.subscribe(incoming, local_contact(incoming, "presence"))
                else:
                    incoming.respond(481)
                return
            if not await self._allowed(incoming):
                return
            if request.method == "PUBLISH":
                await presence.on_publish(incoming)
            else:
                await presence.subscribe(incoming, local_contact(incoming, "presence"))
            return
        if self._is_conversation(request.uri) and not routes:
            await self._to_focus(incoming)
            return
        if in_dialog or routes:
            # Loose routing inside a dialog: the Request-URI is the target.
            # A NOTIFY is recorded even there: it may create the dialog at
            # the subscriber, before the 2xx to the SUBSCRIBE (RFC 6665
            # §4.1.2.4), and then its Record-Route is the route set.
            record = request.method == "NOTIFY"
            if not await self._archived(incoming):
                return
            await self._forward(incoming, [(target, ())], routes, record=record)
            return
        if not await self._allowed(incoming):
            return
        uri = request.uri
        aor = aor_of(uri)
        if isinstance(uri, SipURI) and uri.user is not None and self._our_address(uri):
            # A user at this server's own address is a user of its
            # (first) domain: clients often know a server by its address.
            aor = f"sip:{uri.user}@{self.primary_domain}"
        elif not isinstance(uri, SipURI) or uri.host.lower() not in self.domains:
            if not self.federation:
                incoming.respond(403, "No Federation")
                return
            await self._forward(
                incoming, [(uri, ())], routes, record=request.method in _RECORD_ROUTE
            )
            return
        if aor is None:
            incoming.respond(404)
            return
        bindings = self.registrar.lookup(aor)
        if not bindings:
            # Only now ask the store (off the event loop): bindings exist
            # only for accounts, so the common case needs no lookup.
            username = aor.split(":", 1)[1].split("@", 1)[0]
            if await self.registrar.store.accounts.get(username) is None:
                incoming.respond(404, "No Such User")
            else:
                incoming.respond(480, "Not Signed In")
            return
        targets = [(parse_address(b.contact).uri, b.path) for b in bindings]
        if not await self._archived(incoming):
            return
        await self._forward(incoming, targets, routes, record=request.method in _RECORD_ROUTE)

    async def _allowed(self, incoming: IncomingRequest) -> bool:
        """Authenticate a request from a local user (407); a request from
        elsewhere needs anonymous inbound allowed."""
        request = incoming.request
        frm = request.from_addr.uri
        local_sender = isinstance(frm, SipURI) and frm.host.lower() in self.domains
        if not local_sender and self.anonymous_inbound:
            return True
        username = await self.registrar.authenticate(incoming, proxy=True)
        if username is None:
            return False
        if aor_of(frm) != f"sip:{username}@{frm.host.lower() if isinstance(frm, SipURI) else ''}":
            incoming.respond(403, "From Is Not The Authenticated User")
            return False
        return True

    async def _archived(self, incoming: IncomingRequest, conversation: str | None = None) -> bool:
        """Archive a MESSAGE before it goes on (when archiving is on); False
        after refusing it, when archiving is mandatory and failed."""
        archive = self.archive
        if archive is None or incoming.request.method != "MESSAGE" or not archive.active:
            return True
        if await archive.message(incoming, conversation) or not archive.mandatory:
            return True
        incoming.respond(503, "Archive Unavailable", headers=[("Retry-After", "10")])
        return False

    async def _to_focus(self, incoming: IncomingRequest) -> None:
        assert self.focus is not None
        method = incoming.request.method
        # Only what the focus will relay is archived: a MESSAGE in a
        # participant's dialog.
        conv = self.focus.conversation_of(incoming.request) if method == "MESSAGE" else None
        if conv is not None and not await self._archived(incoming, conv):
            return
        if method == "INVITE" and not incoming.request.to_tag and not await self._allowed(incoming):
            return
        handler = {
            "INVITE": self.focus.on_invite,
            "BYE": self.focus.on_bye,
            "MESSAGE": self.focus.on_message,
            "SUBSCRIBE": self.focus.subscribe,
        }.get(method)
        if handler is None:
            incoming.respond(405)
            return
        result = handler(incoming)
        if result is not None:
            await result

    async def _forward(
        self,
        incoming: IncomingRequest,
        targets: Sequence[tuple[object, tuple[str, ...]]],
        routes: list[str],
        *,
        record: bool,
    ) -> None:
        request = incoming.request
        targets = [t for t in targets if not (isinstance(t[0], SipURI) and self._our_address(t[0]))]
        if not targets:
            # It would come straight back here (§16.3 step 4).
            incoming.respond(482)
            return
        fwd = _Forward(incoming, self._loop_hash(request))
        self._forwards[incoming.transaction] = fwd
        for uri, path in targets:
            rr = record and self._record_route(incoming)
            branch = _copy(request, uri, [*path, *routes], rr, self.registrar.digest.realm)
            fwd.branches.append(branch)
        fwd.pending = set(range(len(fwd.branches)))
        try:
            if len(fwd.branches) == 1:
                await self._branch(fwd, 0)  # no task for the usual single contact
            else:
                await asyncio.gather(*(self._branch(fwd, i) for i in range(len(fwd.branches))))
        finally:
            self._forwards.pop(incoming.transaction, None)
        if not fwd.answered:
            best = fwd.best
            if best is None:
                incoming.respond(408)
            else:
                incoming.forward(best)

    async def _branch(self, fwd: _Forward, index: int) -> None:
        branch = fwd.branches[index]

        def on_response(response: Response) -> None:
            status = response.status
            if status == 100:
                return
            upstream = _upstream(response)
            if upstream is None:
                return
            if status < 200:
                if not fwd.answered:
                    fwd.incoming.forward(upstream)
                return
            if status < 300:
                # The first 2xx goes up at once; for INVITE, every later
                # 2xx too (each fork's dialog is the caller's to end).
                fwd.answered = True
                try:
                    fwd.incoming.forward(upstream)
                except SIPUsageError:
                    return
                if branch.method == "INVITE":
                    self._cancel_others(fwd, index)

        try:
            dest = destination_for_request(branch)
            final = await self.endpoint.request(
                branch, dest, on_response=on_response, push_via=True, branch=fwd.branch_id(index)
            )
        except (SIPUsageError, OSError) as exc:
            log.info("cannot forward %s: %s", branch.method, exc)
            fwd.pending.discard(index)
            return
        fwd.pending.discard(index)
        status = final.status
        if status < 300 or fwd.answered:
            return
        if status >= 600:
            fwd.best = _upstream(final) or fwd.best
            self._cancel_others(fwd, index)
            return
        if fwd.best is None or _better(final, fwd.best):
            fwd.best = _upstream(final) or fwd.best

    def _cancel_others(self, fwd: _Forward, winner: int) -> None:
        for i in list(fwd.pending):
            if i != winner and fwd.branches[i].method == "INVITE":
                self._spawn(self._cancel_branch(fwd.branches[i]))

    async def _cancel_branch(self, branch: Request) -> None:
        if "Via" not in branch.headers:
            return
        with_dest = destination_for_request(branch)
        try:
            await self.endpoint.request(cancel_for(branch), with_dest)
        except (SIPUsageError, OSError) as exc:
            log.info("cannot cancel a branch: %s", exc)

    def on_cancel(self, incoming: IncomingRequest) -> None:
        """The caller cancelled an INVITE being forwarded: cancel every
        branch still pending (§16.10)."""
        fwd = self._forwards.get(incoming.transaction)
        if fwd is None:
            return
        for i in list(fwd.pending):
            self._spawn(self._cancel_branch(fwd.branches[i]))

    async def on_ack(self, incoming: IncomingRequest) -> None:
        """An ACK for a 2xx, routed through us by Record-Route: forward it
        statelessly (§16.11)."""
        request = incoming.request
        routes = list(request.headers.get_all("Route"))
        while routes and self._is_us(_route_uri(routes[0])):
            routes.pop(0)
        if self._is_conversation(request.uri) and not routes and self.focus is not None:
            self.focus.on_ack(incoming)
            return
        ack = _copy(request, request.uri, routes, False)
        try:
            await self.endpoint.send_stateless(ack, destination_for_request(ack), push_via=True)
        except (SIPUsageError, OSError) as exc:
            log.info("cannot forward an ACK: %s", exc)

    def _spawn(self, coro: object) -> None:
        assert asyncio.iscoroutine(coro)
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _route_uri(route: str) -> object:
    try:
        return parse_address(route).uri
    except SIPParseError:
        return None


def _copy(
    request: Request, uri: object, routes: list[str], record_route: str | bool, realm: str = ""
) -> Request:
    """The request as forwarded (§16.6): new Request-URI, Max-Forwards one
    less, the Route set given, our Record-Route on top, and without the
    Proxy-Authorization this proxy consumed (its ``realm``'s, §22.3)."""
    lines: list[tuple[str, str]] = []
    if record_route:
        lines.append(("Record-Route", str(record_route)))
    for name, value in request.headers:
        low = name.lower()
        if low == "route" or (low == "proxy-authorization" and _realm_of(value) == realm):
            continue
        if low == "max-forwards":
            value = str(max(0, int(value) - 1)) if value.strip().isdigit() else "69"
        lines.append((name, value))
    if "Max-Forwards" not in request.headers:
        lines.append(("Max-Forwards", "69"))
    lines += [("Route", r) for r in routes]
    return Request(
        request.method, uri if isinstance(uri, SipURI) else request.uri, lines, request.body
    )


def _realm_of(credentials: str) -> str | None:
    try:
        return parse_auth(credentials, "Proxy-Authorization").realm
    except SIPParseError:
        return None


def _upstream(response: Response) -> Response | None:
    """The response without our Via, to go back upstream (§16.7 step 3);
    None when no Via is left.  Only the first Via *value* goes: a peer may
    put several in one comma-separated line."""
    try:
        vias = response.headers.get_list("Via")
    except SIPParseError:
        return None
    if len(vias) < 2:
        return None
    lines = [(n, v) for n, v in response.headers if n.lower() not in ("via", "v")]
    lines = [("Via", v) for v in vias[1:]] + lines
    return Response(response.status, response.reason, lines, response.body)


def _better(a: Response, b: Response) -> bool:
    """§16.7 step 6, simplified: a 6xx wins; then 3xx over 4xx over 5xx;
    then the lower code."""
    return (a.status // 100 == 6, -(a.status // 100), -a.status) > (
        b.status // 100 == 6,
        -(b.status // 100),
        -b.status,
    )
