"""Digest authentication for a user agent (RFC 3261 §22.2-§22.3, RFC 7616
§3.4, RFC 8760 §2.4).

Theory of operation: the client holds credentials per realm.  When a request
is answered 401 or 407, :meth:`DigestClient.authorize` reads the challenges,
answers one per realm and remembers it; the caller puts the returned lines
on a copy of the request (with a new CSeq and Via branch) and sends it again.
Later requests can carry credentials up front with
:meth:`DigestClient.preemptive`, reusing the nonce with the next nonce count.

A challenge without ``stale=true`` that refuses credentials we computed for a
fresh nonce means the password is wrong: that raises :class:`WrongPassword`
instead of answering again, so a caller never loops on a bad password.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..errors import SIPError, SIPParseError, SIPUsageError
from ..message import AuthHeader, Message, Request, Response, parse_auth, quote
from ._digest import Algorithm, check_credential, digest_response, find_algorithm

__all__ = [
    "AuthenticationError",
    "DigestClient",
    "NoCredentials",
    "UnsupportedChallenge",
    "WrongPassword",
    "apply_credentials",
]

_MAX_NC = 0xFFFFFFFF


class AuthenticationError(SIPError):
    """A challenge the client cannot answer; ``realm`` names it when known."""

    def __init__(self, message: str, realm: str | None = None) -> None:
        super().__init__(message)
        self.realm = realm


class NoCredentials(AuthenticationError):
    """No credentials were added for the challenged realm."""


class UnsupportedChallenge(AuthenticationError):
    """No Digest challenge with an algorithm and qop this client supports."""


class WrongPassword(AuthenticationError):
    """The server refused credentials computed for a fresh nonce (without
    ``stale=true``): the user name or password is wrong."""


@dataclass(slots=True)
class _Session:
    """What answering one realm's challenge leaves for later requests."""

    header: str
    realm: str
    challenge: AuthHeader
    algorithm: Algorithm
    qop: str | None
    username: str
    password: str
    nc: int = 0


def _new_cnonce() -> str:
    return secrets.token_hex(16)


def _parsed(message: Message, name: str) -> list[AuthHeader]:
    """The well-formed Digest values of header ``name``; a malformed line is
    skipped so that it cannot hide the good ones."""
    out: list[AuthHeader] = []
    try:
        values = message.headers.get_all(name)
    except SIPParseError:
        return out
    for value in values:
        try:
            auth = parse_auth(value, name)
        except SIPParseError:
            continue
        if auth.is_digest:
            out.append(auth)
    return out


def _choose_qop(challenge: AuthHeader) -> tuple[bool, str | None]:
    """(usable, qop): "auth" when offered, else "auth-int", else none at all
    (RFC 2069) when the challenge names no qop."""
    options = [q.lower() for q in challenge.qop_options]
    if not options:
        return True, None
    for qop in ("auth", "auth-int"):
        if qop in options:
            return True, qop
    return False, None


class DigestClient:
    """Answers Digest challenges with credentials held per realm.

    ``new_cnonce`` makes client nonces (cryptographically random by default;
    tests pass a fixed one).
    """

    def __init__(self, *, new_cnonce: Callable[[], str] = _new_cnonce) -> None:
        self._credentials: dict[str | None, tuple[str, str]] = {}
        self._sessions: dict[tuple[str, str], _Session] = {}
        # Keys of credentials not used to answer a challenge yet.
        self._untried: set[str | None] = set()
        self._new_cnonce = new_cnonce

    def add(self, username: str, password: str, realm: str | None = None) -> None:
        """Use ``username`` and ``password`` for ``realm`` (None: any realm
        without credentials of its own).  Replacing credentials forgets the
        nonces answered with the old ones."""
        check_credential("username", username)
        check_credential("password", password, any_control=False)
        if realm is not None:
            check_credential("realm", realm)
        self._credentials[realm] = (username, password)
        self._untried.add(realm)
        for key in list(self._sessions):
            if key[1] == realm or (realm is None and key[1] not in self._credentials):
                del self._sessions[key]

    def authorize(self, request: Request, response: Response) -> list[tuple[str, str]]:
        """The ``(header, value)`` lines to add to the retry of ``request``
        after the 401 or 407 ``response``: ``Authorization`` or
        ``Proxy-Authorization``, one per realm challenged.  Among several
        challenges for one realm the strongest algorithm is answered.

        Raises :class:`WrongPassword` when a realm refused credentials
        computed for a fresh nonce; otherwise realms that cannot be answered
        are left out, and when none can, raises :class:`NoCredentials` or
        :class:`UnsupportedChallenge`.
        """
        if response.status == 401:
            challenge_name, header = "WWW-Authenticate", "Authorization"
        elif response.status == 407:
            challenge_name, header = "Proxy-Authenticate", "Proxy-Authorization"
        else:
            raise SIPUsageError(f"a {response.status} response is not a challenge")
        by_realm: dict[str, list[AuthHeader]] = {}
        for challenge in _parsed(response, challenge_name):
            if challenge.realm is not None and challenge.nonce is not None:
                by_realm.setdefault(challenge.realm, []).append(challenge)
        if not by_realm:
            raise UnsupportedChallenge(f"no usable Digest challenge in {challenge_name}")
        sent = {c.realm: c for c in _parsed(request, header)}
        lines: list[tuple[str, str]] = []
        failures: list[AuthenticationError] = []
        for realm, challenges in by_realm.items():
            try:
                session = self._session(header, realm, challenges, sent.get(realm))
            except WrongPassword:
                raise
            except AuthenticationError as exc:
                failures.append(exc)
                continue
            self._sessions[header, realm] = session
            lines.append((header, self._credentials_for(session, request)))
        if not lines:
            raise failures[0]
        return lines

    def preemptive(self, request: Request, realm: str | None = None) -> list[tuple[str, str]]:
        """Credentials for ``request`` before any challenge, reusing each
        nonce answered so far (only ``realm``'s, when given) with the next
        nonce count; empty when nothing has been answered yet."""
        lines: list[tuple[str, str]] = []
        for key, session in list(self._sessions.items()):
            if realm is not None and session.realm != realm:
                continue
            if session.nc >= _MAX_NC:
                # The nonce count is spent; the next challenge gives a new nonce.
                del self._sessions[key]
                continue
            lines.append((session.header, self._credentials_for(session, request)))
        return lines

    def _session(
        self, header: str, realm: str, challenges: list[AuthHeader], sent: AuthHeader | None
    ) -> _Session:
        usable: list[tuple[AuthHeader, Algorithm, str | None]] = []
        for challenge in challenges:
            alg = find_algorithm(challenge.get("algorithm"))
            ok, qop = _choose_qop(challenge)
            # A -sess A1 needs a cnonce, and there is none without qop.
            if alg is not None and ok and not (alg.sess and qop is None):
                usable.append((challenge, alg, qop))
        if not usable:
            names = ", ".join(c.algorithm for c in challenges)
            raise UnsupportedChallenge(f"realm {realm!r}: unsupported challenge ({names})", realm)
        # RFC 8760 §2.4 lets local policy override "topmost first"; ours is
        # "strongest first", with the topmost winning among equals.
        challenge, alg, qop = max(usable, key=lambda u: u[1].rank)
        key = realm if realm in self._credentials else None
        found = self._credentials.get(key)
        refused = sent is not None and (sent.nonce == challenge.nonce or sent.nc in (None, 1))
        if refused and key not in self._untried and not any(c.stale for c in challenges):
            # RFC 7616 §3.3: without stale=true the credentials themselves
            # were refused.  Reused (pre-emptive) ones just get a new nonce,
            # and credentials added since the refused answer get one try.
            self._sessions.pop((header, realm), None)
            raise WrongPassword(f"realm {realm!r} refused the credentials", realm)
        if found is None:
            raise NoCredentials(f"no credentials for realm {realm!r}", realm)
        self._untried.discard(key)
        return _Session(header, realm, challenge, alg, qop, *found)

    def _credentials_for(self, session: _Session, request: Request) -> str:
        session.nc += 1
        challenge, alg, qop = session.challenge, session.algorithm, session.qop
        realm = session.realm
        nonce = challenge.nonce or ""
        nc = f"{session.nc:08x}" if qop else ""
        cnonce = self._new_cnonce() if qop else ""
        uri = request.uri_text
        username = session.username
        userhash = (challenge.get("userhash") or "").lower() == "true"
        response = digest_response(
            algorithm=alg.name,
            ha1=alg.h(f"{username}:{realm}:{session.password}"),
            nonce=nonce,
            method=request.method,
            uri=uri,
            qop=qop,
            nc=nc,
            cnonce=cnonce,
            body=request.body,
        )
        name = alg.h(f"{username}:{realm}") if userhash else username  # RFC 7616 §3.4.4
        parts = [
            f"username={quote(name)}",
            f"realm={quote(realm)}",
            f"nonce={quote(nonce)}",
            f"uri={quote(uri)}",
            f'response="{response}"',
            f"algorithm={alg.name}",
        ]
        if qop:
            parts += [f"cnonce={quote(cnonce)}", f"qop={qop}", f"nc={nc}"]
        if challenge.opaque is not None:
            parts.append(f"opaque={quote(challenge.opaque)}")
        if userhash:
            parts.append("userhash=true")
        return "Digest " + ", ".join(parts)


def apply_credentials(request: Request, lines: Iterable[tuple[str, str]]) -> None:
    """Put credential ``lines`` (as :meth:`DigestClient.authorize` returns
    them) on ``request``, replacing those it carries for the same realms and
    keeping the others (RFC 3261 §22.3: one per realm)."""
    for name, value in lines:
        realm = parse_auth(value, name).realm
        keep: list[str] = []
        for old in request.headers.get_all(name):
            try:
                if parse_auth(old, name).realm == realm:
                    continue
            except SIPParseError:
                pass
            keep.append(old)
        request.headers.remove(name)
        for old in keep:
            request.headers.add(name, old)
        request.headers.add(name, value)
