"""The registrar (RFC 3261 §10.3) and the location service the proxy asks.

Bindings live in memory for lookups and in the store for restarts; a 200 to
REGISTER is sent only once the new set of bindings is committed.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable

from ..auth import DigestServer
from ..endpoint import IncomingRequest
from ..errors import SIPParseError
from ..message import Address, SipURI, format_date, parse_address
from ..message._uri import URI
from ..policy import POLICY_HEADER
from ..storage import Account, Binding, Store

__all__ = ["Registrar", "aor_of"]

log = logging.getLogger("sipstack.server")

#: Bindings one address of record may hold; more is refused (403).
MAX_BINDINGS = 20
#: Seconds an account read from the store is reused for authentication.
ACCOUNT_TTL = 5.0
MAX_CACHED_ACCOUNTS = 100_000


def aor_of(uri: URI) -> str | None:
    """The canonical address of record of a SIP URI: ``sip:user@host`` with
    the host in lower case, no port or parameters (None for other URIs or
    a URI without a user)."""
    if not isinstance(uri, SipURI) or uri.user is None:
        return None
    return f"sip:{uri.user}@{uri.host.lower()}"


class Registrar:
    """Answers REGISTER for ``domains`` with digest authentication against
    ``store``'s accounts, and keeps the location service."""

    def __init__(
        self,
        store: Store,
        digest: DigestServer,
        domains: set[str],
        *,
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 3600,
        clock: Callable[[], float] = time.time,
        on_event: Callable[[str, str, str], None] | None = None,
        policy_header: str = "",
    ) -> None:
        self.store = store
        self.digest = digest
        self.domains = {d.lower() for d in domains}
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.clock = clock
        #: Called with ("sign-in" | "sign-out", aor, contact) for the archive.
        self.on_event = on_event
        self.location: dict[str, list[Binding]] = {}
        #: The administrator's settings sent to clients in every 200.
        self.policy_header = policy_header
        self._accounts: dict[str, tuple[float, Account | None]] = {}

    async def start(self) -> None:
        """Load the stored bindings (those still valid)."""
        now = self.clock()
        loaded = await self.store.registrations.load()
        self.location = {
            aor: live
            for aor, bs in loaded.items()
            if (live := [b for b in bs if b.expires_at > now])
        }

    def lookup(self, aor: str) -> list[Binding]:
        """The live bindings of ``aor``, highest q first."""
        now = self.clock()
        live = [b for b in self.location.get(aor, ()) if b.expires_at > now]
        return sorted(live, key=lambda b: -(b.q if b.q is not None else 1.0))

    async def authenticate(self, incoming: IncomingRequest, *, proxy: bool = False) -> str | None:
        """The user name ``incoming`` proved with its credentials, or None
        after answering it 401/407 (a new challenge; ``stale=true`` when only
        the nonce was old)."""
        request = incoming.request
        username = self.digest.claimed_user(request, proxy=proxy)
        account = await self._account(username) if username else None

        def lookup(user: str, realm: str, algorithm: str) -> str | None:
            if account is None or user != account.username or realm != account.realm:
                return None
            return account.ha1.get(algorithm)

        now = self.clock()
        result = self.digest.verify(request, now, lookup, proxy=proxy)
        if result.ok:
            return result.username
        if result.detail:
            log.info("%s from %s refused: %s", request.method, incoming.flow.remote, result.detail)
        incoming.respond(
            407 if proxy else 401,
            headers=self.digest.challenge(now, stale=result.stale, proxy=proxy),
        )
        return None

    async def _account(self, username: str) -> Account | None:
        """The account, from a short-lived cache: every authenticated
        request needs it, and the store is a thread hop away.  A change
        made with ``sipstack users`` is seen within ``ACCOUNT_TTL``."""
        now = time.monotonic()
        hit = self._accounts.get(username)
        if hit is not None and hit[0] > now:
            return hit[1]
        account = await self.store.accounts.get(username)
        if len(self._accounts) >= MAX_CACHED_ACCOUNTS:
            self._accounts.clear()  # crude but bounded: refilled as used
        self._accounts[username] = (now + ACCOUNT_TTL, account)
        return account

    async def on_register(self, incoming: IncomingRequest) -> None:
        """REGISTER: authenticate, apply the Contact changes (§10.3 steps
        1-8), store, answer 200 with every current binding."""
        request = incoming.request
        ruri = request.uri
        # The Request-URI names the domain, or this server by its address.
        if not isinstance(ruri, SipURI) or (
            ruri.host.lower() not in self.domains
            and ruri.host.strip("[]") != incoming.flow.local[0]
        ):
            incoming.respond(404, "Not A Domain Of This Registrar")
            return
        aor = aor_of(request.to_addr.uri)
        if aor is None or aor.split("@", 1)[1] not in self.domains:
            incoming.respond(404, "Not A User Of This Domain")
            return
        username = await self.authenticate(incoming)
        if username is None:
            return
        if aor.split(":", 1)[1].split("@", 1)[0] != username:
            incoming.respond(403, "Not Your Address Of Record")
            return
        try:
            bindings = self._apply(incoming, aor)
        except _Refused as refused:
            incoming.respond(refused.status, refused.reason, headers=refused.headers)
            return
        except SIPParseError as exc:
            incoming.respond(400, str(exc)[:100])
            return
        if bindings is None:
            return
        before = {b.contact for b in self.lookup(aor)}
        await self.store.registrations.replace(aor, bindings)
        if bindings:
            self.location[aor] = bindings
        else:
            self.location.pop(aor, None)
        after = {b.contact for b in bindings}
        if self.on_event is not None:
            for contact in after - before:
                self.on_event("sign-in", aor, contact)
            for contact in before - after:
                self.on_event("sign-out", aor, contact)
        now = self.clock()
        headers = [
            ("Contact", f"{b.contact};expires={max(0, int(b.expires_at - now))}") for b in bindings
        ]
        headers.append(("Date", format_date_now(now)))
        if self.policy_header:
            headers.append((POLICY_HEADER, self.policy_header))
        incoming.respond(200, headers=headers)

    def _apply(self, incoming: IncomingRequest, aor: str) -> list[Binding] | None:
        request = incoming.request
        now = self.clock()
        call_id, cseq = request.call_id, request.cseq.seq
        header_expires = request.expires
        current = [b for b in self.location.get(aor, ()) if b.expires_at > now]
        if request.contact_is_star:
            if header_expires != 0 or len(request.headers.get_all("Contact")) != 1:
                raise _Refused(400, "Contact * Needs Expires 0 Alone")
            for b in current:
                if b.call_id == call_id and cseq <= b.cseq:
                    raise _Refused(500, "CSeq Out Of Order")
            return []
        contacts = request.contacts
        if not contacts:
            return current  # a query: the bindings as they are
        path = tuple(request.headers.get_all("Path"))
        source = (
            f"{incoming.flow.transport.lower()}:{incoming.flow.remote[0]}:{incoming.flow.remote[1]}"
        )
        agent = request.headers.get("User-Agent")
        result = {b.contact: b for b in current}
        uris = {b.contact: _uri_of(b.contact) for b in current}
        for contact in contacts:
            expires = contact.expires if contact.expires is not None else header_expires
            if expires is None:
                expires = self.default_expires
            if 0 < expires < self.min_expires:
                raise _Refused(423, "Interval Too Brief", [("Min-Expires", str(self.min_expires))])
            expires = min(expires, self.max_expires)
            key = _contact_key(contact)
            existing = next((c for c, u in uris.items() if u == contact.uri), None)
            if existing is not None:
                old = result[existing]
                if old.call_id == call_id and cseq <= old.cseq:
                    raise _Refused(500, "CSeq Out Of Order")
                del result[existing]
                del uris[existing]
            instance = contact.params.get("+sip.instance")
            reg_id = contact.params.get("reg-id")
            if instance is not None:
                # RFC 5626 §6: a new flow of the same instance replaces it.
                for c in [
                    c
                    for c, b in result.items()
                    if b.instance == instance and str(b.reg_id) == str(reg_id)
                ]:
                    del result[c]
                    del uris[c]
            if expires == 0:
                continue
            result[key] = Binding(
                aor=aor,
                contact=key,
                expires_at=now + expires,
                call_id=call_id,
                cseq=cseq,
                q=contact.q,
                path=path,
                instance=instance,
                reg_id=int(reg_id) if reg_id is not None and reg_id.isdigit() else None,
                source=source,
                user_agent=agent,
            )
            uris[key] = contact.uri
        if len(result) > MAX_BINDINGS:
            raise _Refused(403, "Too Many Contacts")
        return list(result.values())


class _Refused(Exception):
    def __init__(
        self, status: int, reason: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or []


def _contact_key(contact: Address) -> str:
    """A binding's contact as stored: the URI in brackets with q and the
    RFC 5626 parameters, without ``expires`` (which the registrar owns)."""
    params = contact.params.without("expires")
    return str(Address(contact.uri, contact.display_name, params))


def _uri_of(stored: str) -> URI:
    return parse_address(stored).uri


def format_date_now(now: float) -> str:
    """An RFC 1123 Date header value for ``now``."""
    return format_date(_dt.datetime.fromtimestamp(now, _dt.UTC))
