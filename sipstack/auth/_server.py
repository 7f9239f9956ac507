"""Digest authentication for a registrar or proxy (RFC 3261 §22.1, §22.3,
RFC 7616 §3.3-§3.5, RFC 8760 §2.3).

Theory of operation: the server never sees a password.  A lookup callable
gives the stored HA1 for a user, realm and algorithm.  Nonces are stateless:

    nonce = base64url(issued-ms (8 bytes) | salt (8) | HMAC-SHA256(secret,
            issued-ms | salt | algorithm | realm)[:16])

so any nonce can be checked without a table, is tied to the algorithm it
was offered with (no answering a SHA-256 nonce with MD5) and expires after
``nonce_lifetime`` seconds.  The only state is a bounded table of the
highest nonce count seen per nonce, which refuses replays.

:meth:`DigestServer.verify` checks in an order that leaks nothing to a
client without the password: the digest is compared before the nonce's
freshness, so ``stale`` (retry with a new nonce, RFC 7616 §3.3) is only
ever suggested to a client that proved it knows the password.
"""

from __future__ import annotations

import base64
import enum
import hmac
import re
import secrets
import struct
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import SIPParseError, SIPUsageError
from ..message import AuthHeader, Request, parse_auth, parse_uri, quote
from ._digest import Algorithm, check_credential, digest_response, find_algorithm

__all__ = ["AuthResult", "AuthStatus", "DigestServer", "HA1Lookup"]

HA1Lookup = Callable[[str, str, str], str | None]
"""``(username, realm, algorithm) -> HA1 hex | None``; ``algorithm`` is the
base name (``MD5``, ``SHA-256``, ``SHA-512-256``), also for ``-sess``."""

# Longer credentials are refused unread: no user needs them.
MAX_CREDENTIALS_LENGTH = 4096
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")
_NC = re.compile(r"[0-9A-Fa-f]{8}")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_QOPS = ("auth", "auth-int")


class AuthStatus(enum.Enum):
    """The outcome of :meth:`DigestServer.verify`."""

    OK = "ok"
    MISSING = "missing credentials"
    MALFORMED = "malformed credentials"
    REALM_MISMATCH = "realm mismatch"
    URI_MISMATCH = "uri does not match the Request-URI"
    UNKNOWN_USER = "unknown user"
    WRONG_RESPONSE = "wrong response"
    BAD_NONCE = "nonce not issued by this server"
    STALE_NONCE = "stale nonce"
    NC_REPLAY = "nonce count replayed"


# Refusals after which the client has shown it knows the password: it is
# challenged again with stale=true and retries without asking its user.
_STALE = frozenset((AuthStatus.BAD_NONCE, AuthStatus.STALE_NONCE, AuthStatus.NC_REPLAY))


@dataclass(frozen=True, slots=True)
class AuthResult:
    """What :meth:`DigestServer.verify` found.  ``username`` and
    ``algorithm`` are set once the credentials were readable."""

    status: AuthStatus
    username: str | None = None
    realm: str | None = None
    algorithm: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when the request is authenticated."""
        return self.status is AuthStatus.OK

    @property
    def stale(self) -> bool:
        """True when the next challenge should carry ``stale=true``."""
        return self.status in _STALE


class DigestServer:
    """Challenges requests and verifies their Digest credentials for one
    ``realm``.

    ``secret`` keys the nonces (random when not given; pass the same one to
    every process serving the realm).  ``algorithms`` are offered in order of
    preference (RFC 8760 §2.3); ``qop`` lists the protections offered (an
    empty tuple gives RFC 2069 challenges).  At most ``max_nonces`` nonce
    counts are remembered; the least recently used are forgotten first.
    """

    def __init__(
        self,
        realm: str,
        *,
        secret: bytes | None = None,
        algorithms: Sequence[str] = ("SHA-256", "MD5"),
        qop: Sequence[str] = ("auth",),
        nonce_lifetime: float = 300.0,
        max_nonces: int = 10_000,
    ) -> None:
        check_credential("realm", realm)
        if secret is None:
            secret = secrets.token_bytes(32)
        if not isinstance(secret, bytes) or len(secret) < 16:
            raise SIPUsageError("the nonce secret must be at least 16 bytes")
        if any(q not in _QOPS for q in qop):
            raise SIPUsageError(f"qop must be among {_QOPS}")
        if not nonce_lifetime > 0 or max_nonces < 1:
            raise SIPUsageError("nonce_lifetime and max_nonces must be positive")
        self.realm = realm
        self._secret = secret
        self._algorithms = self._check_algorithms(algorithms)
        self._qop = tuple(qop)
        self._lifetime_ms = nonce_lifetime * 1000
        self._max_nonces = max_nonces
        # nonce -> (highest nc, issued-ms), least recently used first.
        self._seen: OrderedDict[str, tuple[int, int]] = OrderedDict()
        # Nonces issued up to this time may have had their count forgotten.
        self._forgotten_until = -(2**63)
        mac = hmac.new(secret, b"opaque\0" + realm.encode(), "sha256")
        self._opaque = mac.hexdigest()[:24]

    @staticmethod
    def _check_algorithms(names: Sequence[str]) -> tuple[Algorithm, ...]:
        if isinstance(names, str) or not names:
            raise SIPUsageError("algorithms must be a non-empty sequence of names")
        algs: list[Algorithm] = []
        for name in names:
            alg = find_algorithm(name)
            if alg is None:
                raise SIPUsageError(f"unsupported digest algorithm {name!r}")
            algs.append(alg)
        return tuple(algs)

    # -- challenges -----------------------------------------------------------
    def challenge(
        self,
        now: float,
        *,
        stale: bool = False,
        algorithms: Sequence[str] | None = None,
        proxy: bool = False,
    ) -> list[tuple[str, str]]:
        """``(header, value)`` lines for a 401 (``WWW-Authenticate``) or, with
        ``proxy``, a 407 (``Proxy-Authenticate``): one per algorithm, in order
        of preference, each with its own nonce."""
        header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        algs = self._algorithms if algorithms is None else self._check_algorithms(algorithms)
        lines = []
        for alg in algs:
            parts = [
                f"realm={quote(self.realm)}",
                f'nonce="{self._new_nonce(now, alg)}"',
                f'opaque="{self._opaque}"',
                f"algorithm={alg.name}",
            ]
            if self._qop:
                parts.append(f'qop="{",".join(self._qop)}"')
            if stale:
                parts.append("stale=true")
            lines.append((header, "Digest " + ", ".join(parts)))
        return lines

    def _mac(self, stamp: bytes, salt: bytes, alg: Algorithm) -> bytes:
        data = stamp + salt + alg.name.encode() + b"\0" + self.realm.encode()
        return hmac.new(self._secret, data, "sha256").digest()[:16]

    def _new_nonce(self, now: float, alg: Algorithm) -> str:
        stamp = struct.pack(">q", int(now * 1000))
        salt = secrets.token_bytes(8)
        raw = stamp + salt + self._mac(stamp, salt, alg)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _issued(self, nonce: str, alg: Algorithm) -> int | None:
        """When we issued ``nonce`` for ``alg`` (ms), or None if we did not."""
        if not _NONCE.fullmatch(nonce):
            return None
        raw = base64.urlsafe_b64decode(nonce + "=")
        # Several spellings decode to the same bytes; only ours is valid.
        if base64.urlsafe_b64encode(raw).decode().rstrip("=") != nonce:
            return None
        stamp, salt, mac = raw[:8], raw[8:16], raw[16:]
        if not hmac.compare_digest(mac, self._mac(stamp, salt, alg)):
            return None
        issued: int = struct.unpack(">q", stamp)[0]
        return issued

    # -- verification ---------------------------------------------------------
    def verify(
        self, request: Request, now: float, lookup: HA1Lookup, *, proxy: bool = False
    ) -> AuthResult:
        """Check the ``Authorization`` (or, with ``proxy``,
        ``Proxy-Authorization``) credentials of ``request`` for this realm.

        Never raises for anything the request contains; exceptions from
        ``lookup`` propagate.  A refused request is answered with
        :meth:`challenge` (``stale=result.stale``).
        """
        header = "Proxy-Authorization" if proxy else "Authorization"
        creds, status = self._select(request, header)
        if creds is None:
            return AuthResult(status, realm=self.realm)
        username, nonce, uri, response = creds.username, creds.nonce, creds.uri, creds.response
        if not (username and nonce and uri and response):
            return self._malformed("username, nonce, uri and response are required")
        alg = find_algorithm(creds.get("algorithm"))
        if alg is None:
            return self._malformed("unsupported algorithm", username)
        if (creds.get("userhash") or "").lower() == "true":
            return self._malformed("userhash was not offered", username)
        qop, nc, cnonce = creds.get("qop"), creds.get("nc") or "", creds.cnonce or ""
        if qop is None:
            if self._qop or alg.sess:
                return self._malformed("qop is required", username)
        elif qop.lower() not in self._qop:
            return self._malformed(f"qop {qop[:20]!r} was not offered", username)
        elif not (_NC.fullmatch(nc) and int(nc, 16) > 0 and cnonce):
            return self._malformed("nc must be 8 hex digits and cnonce present", username)
        if len(response) != len(alg.h(b"")) or not _HEX.fullmatch(response):
            return self._malformed("response is not a digest", username)

        def result(status: AuthStatus) -> AuthResult:
            return AuthResult(status, username, self.realm, alg.name)

        if uri != request.uri_text and not _same_uri(uri, request):
            return result(AuthStatus.URI_MISMATCH)
        stored = lookup(username, self.realm, alg.base)
        if stored is None:
            return result(AuthStatus.UNKNOWN_USER)
        expected = digest_response(
            algorithm=alg.name,
            ha1=stored.lower(),
            nonce=nonce,
            method=request.method,
            uri=uri,
            qop=qop,
            nc=nc,
            cnonce=cnonce,
            body=request.body,
        )
        if not hmac.compare_digest(expected.encode(), response.lower().encode()):
            return result(AuthStatus.WRONG_RESPONSE)
        issued = self._issued(nonce, alg)
        if issued is None or (creds.opaque is not None and creds.opaque != self._opaque):
            return result(AuthStatus.BAD_NONCE)
        if abs(now * 1000 - issued) > self._lifetime_ms:
            return result(AuthStatus.STALE_NONCE)
        if qop is not None and not self._count(nonce, int(nc, 16), issued):
            return result(AuthStatus.NC_REPLAY)
        return result(AuthStatus.OK)

    def claimed_user(self, request: Request, *, proxy: bool = False) -> str | None:
        """The user name the credentials for this realm claim (unverified):
        what a server looks up before :meth:`verify`."""
        header = "Proxy-Authorization" if proxy else "Authorization"
        creds, _ = self._select(request, header)
        return None if creds is None else creds.username

    def _select(self, request: Request, header: str) -> tuple[AuthHeader | None, AuthStatus]:
        """Our realm's Digest credentials, or None and why there are none."""
        malformed = other_realm = False
        try:
            values = request.headers.get_all(header)
        except SIPParseError:
            return None, AuthStatus.MALFORMED
        for value in values:
            if len(value) > MAX_CREDENTIALS_LENGTH:
                malformed = True
                continue
            try:
                creds = parse_auth(value, header)
            except SIPParseError:
                malformed = True
                continue
            if not creds.is_digest:
                continue
            realm = creds.realm
            if realm == self.realm:
                return creds, AuthStatus.OK
            if realm is None:
                malformed = True
            else:
                other_realm = True
        if malformed:
            return None, AuthStatus.MALFORMED
        return None, AuthStatus.REALM_MISMATCH if other_realm else AuthStatus.MISSING

    def _malformed(self, detail: str, username: str | None = None) -> AuthResult:
        return AuthResult(AuthStatus.MALFORMED, username, self.realm, detail=detail)

    def _count(self, nonce: str, nc: int, issued: int) -> bool:
        """Record nonce count ``nc``; False when it is not above the highest
        seen for ``nonce`` (RFC 7616 §3.4: a replay)."""
        seen = self._seen.get(nonce)
        if seen is None:
            if issued <= self._forgotten_until:
                # Its count may have been evicted: a replay cannot be ruled out.
                return False
        elif nc <= seen[0]:
            return False
        self._seen[nonce] = (nc, issued)
        self._seen.move_to_end(nonce)
        while len(self._seen) > self._max_nonces:
            _, (_, evicted) = self._seen.popitem(last=False)
            self._forgotten_until = max(self._forgotten_until, evicted)
        return True


def _same_uri(digest_uri: str, request: Request) -> bool:
    """RFC 3261 §22.4: the digest-uri names the Request-URI, compared as URIs
    (§19.1.4) when the text differs."""
    if len(digest_uri) > MAX_CREDENTIALS_LENGTH:
        return False
    try:
        return parse_uri(digest_uri) == request.uri
    except SIPParseError:
        return False
