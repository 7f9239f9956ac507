"""HTTP Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760),
sans-I/O: client and server both work on messages, time is passed in.

A user agent answers challenges::

    client = DigestClient()
    client.add("alice", "secret")                 # any realm
    lines = client.authorize(request, response)   # after a 401 / 407
    apply_credentials(retry, lines)               # retry: new CSeq and branch

A registrar verifies, never holding a password::

    server = DigestServer("example.com")
    result = server.verify(request, now, lookup)  # lookup -> stored HA1
    if not result.ok:
        send(make_response(request, 401, headers=server.challenge(now, stale=result.stale)))
"""

from ._client import (
    AuthenticationError,
    DigestClient,
    NoCredentials,
    UnsupportedChallenge,
    WrongPassword,
    apply_credentials,
)
from ._digest import ALGORITHMS, digest_response, ha1
from ._server import AuthResult, AuthStatus, DigestServer, HA1Lookup

__all__ = [
    "ALGORITHMS",
    "AuthResult",
    "AuthStatus",
    "AuthenticationError",
    "DigestClient",
    "DigestServer",
    "HA1Lookup",
    "NoCredentials",
    "UnsupportedChallenge",
    "WrongPassword",
    "apply_credentials",
    "digest_response",
    "ha1",
]
