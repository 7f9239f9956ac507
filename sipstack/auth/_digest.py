"""The digest computations of RFC 7616 §3.4 as SIP uses them (RFC 3261
§22.4, RFC 8760): pure functions of strings, shared by client and server.

    response = KD(H(A1), nonce ":" [nc ":" cnonce ":" qop ":"] H(A2))
    A1       = username ":" realm ":" password          (H(A1) is "HA1")
    A1-sess  = H(username ":" realm ":" password) ":" nonce ":" cnonce
    A2       = method ":" digest-uri [":" H(body) for qop=auth-int]
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..errors import SIPUsageError

__all__ = ["ALGORITHMS", "Algorithm", "digest_response", "find_algorithm", "ha1"]

# The hashes RFC 8760 §2.1 names, strongest first (the rank a client uses
# to pick among several challenges).
_HASHES = (("SHA-512-256", "sha512_256"), ("SHA-256", "sha256"), ("MD5", "md5"))

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _supported(hash_name: str) -> bool:
    # SHA-512/256 comes from OpenSSL and may be missing from some builds;
    # then the algorithm is simply not offered or answered.
    try:
        hashlib.new(hash_name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One digest algorithm, such as ``SHA-256`` or ``MD5-sess``."""

    name: str
    base: str
    hash_name: str
    sess: bool
    rank: int

    def h(self, data: str | bytes) -> str:
        """The hex digest of ``data`` (text is hashed as UTF-8)."""
        if isinstance(data, str):
            # surrogatepass: never fail on text a program built by hand.
            data = data.encode("utf-8", "surrogatepass")
        return hashlib.new(self.hash_name, data).hexdigest()


_TABLE: dict[str, Algorithm] = {}
for _rank, (_base, _hash) in enumerate(reversed(_HASHES), 1):
    if _supported(_hash):
        for _sess in (False, True):
            _name = _base + "-sess" if _sess else _base
            _TABLE[_name.upper()] = Algorithm(_name, _base, _hash, _sess, _rank)

ALGORITHMS: tuple[str, ...] = tuple(
    a.name for a in sorted(_TABLE.values(), key=lambda a: (-a.rank, a.sess))
)
"""The algorithm names this build supports, strongest first."""


def find_algorithm(name: str | None) -> Algorithm | None:
    """The algorithm called ``name`` (case-insensitive; None means MD5, RFC
    7616 §3.3), or None when it is not supported."""
    return _TABLE.get("MD5" if name is None else name.upper())


def _algorithm(name: str) -> Algorithm:
    alg = find_algorithm(name)
    if alg is None:
        raise SIPUsageError(f"unsupported digest algorithm {name!r}")
    return alg


def ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """H(username ":" realm ":" password), what a server stores instead of the
    password.  A ``-sess`` algorithm stores the HA1 of its base hash, so
    ``"SHA-256-sess"`` gives the same value as ``"SHA-256"``."""
    return _algorithm(algorithm).h(f"{username}:{realm}:{password}")


def digest_response(
    *,
    algorithm: str,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """The ``response`` value for the stored ``ha1`` (as :func:`ha1` gives
    it).  ``qop`` None is the RFC 2069 form; ``nc`` is the 8 hex digits as
    sent; ``body`` matters only for ``qop="auth-int"``."""
    alg = _algorithm(algorithm)
    key = alg.h(f"{ha1}:{nonce}:{cnonce}") if alg.sess else ha1
    a2 = f"{method}:{uri}"
    if qop is not None and qop.lower() == "auth-int":
        a2 += ":" + alg.h(body)
    if qop is None:
        return alg.h(f"{key}:{nonce}:{alg.h(a2)}")
    return alg.h(f"{key}:{nonce}:{nc}:{cnonce}:{qop}:{alg.h(a2)}")


def check_credential(what: str, value: str, *, any_control: bool = True) -> None:
    """Refuse text that cannot go into a header (CR and LF always, other
    control characters when ``any_control``) or is not valid Unicode."""
    if not isinstance(value, str):
        raise SIPUsageError(f"{what} must be a string")
    bad = _CONTROL.search(value) if any_control else ("\r" in value or "\n" in value)
    if bad:
        raise SIPUsageError(f"{what} contains CR, LF or another control character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SIPUsageError(f"{what} is not valid Unicode text") from None
