"""Digest authentication (RFC 7616, RFC 8760, RFC 3261 §22): the published
example vectors, then client and server talking through real, serialised
and re-parsed SIP messages."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sipstack.auth import (
    ALGORITHMS,
    AuthStatus,
    DigestClient,
    DigestServer,
    NoCredentials,
    UnsupportedChallenge,
    WrongPassword,
    apply_credentials,
    digest_response,
    ha1,
)
from sipstack.errors import SIPUsageError
from sipstack.message import (
    Request,
    Response,
    make_request,
    make_response,
    parse,
    parse_auth,
    quote,
)

REALM = "example.com"
USERS = {"alice": "wonderland", 'q"uo\\te': 'pa\\ss"word'}
SECRET = b"0123456789abcdef0123456789abcdef"


def lookup(username: str, realm: str, algorithm: str) -> str | None:
    password = USERS.get(username)
    return None if password is None else ha1(username, realm, password, algorithm)


def request(
    method: str = "REGISTER",
    uri: str = "sip:example.com",
    *,
    cseq: int = 1,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> Request:
    req = make_request(
        method,
        uri,
        from_addr="<sip:alice@example.com>",
        to_addr="<sip:alice@example.com>",
        call_id="call-1@192.0.2.1",
        cseq=cseq,
        via=f"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-{cseq}",
        headers=headers or [],
        body=body,
        content_type="text/plain" if body else None,
    )
    msg = parse(bytes(req))
    assert isinstance(msg, Request)
    return msg


def challenged(req: Request, lines: list[tuple[str, str]], status: int = 401) -> Response:
    msg = parse(bytes(make_response(req, status, to_tag="srv", headers=lines)))
    assert isinstance(msg, Response)
    return msg


def retry(req: Request, lines: list[tuple[str, str]]) -> Request:
    """What a UA does: the same request, next CSeq, new branch, credentials."""
    seq = req.cseq.seq + 1
    again = Request(req.method, req.uri_text, req.headers, req.body)
    again.headers.set("CSeq", f"{seq} {req.method}")
    again.headers.set("Via", f"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-{seq}")
    apply_credentials(again, lines)
    msg = parse(bytes(again))
    assert isinstance(msg, Request)
    return msg


def authenticate(
    server: DigestServer, client: DigestClient, req: Request, now: float = 0.0, proxy: bool = False
) -> Request:
    """One 401/407 exchange: the retry carrying the client's answer."""
    resp = challenged(req, server.challenge(now, proxy=proxy), 407 if proxy else 401)
    return retry(req, client.authorize(req, resp))


def preemptive(client: DigestClient, req: Request) -> Request:
    """``req`` re-parsed with the credentials the client adds up front."""
    apply_credentials(req, client.preemptive(req))
    msg = parse(bytes(req))
    assert isinstance(msg, Request)
    return msg


def creds_of(req: Request, header: str = "Authorization") -> dict[str, str]:
    value = req.headers.get(header)
    assert value is not None
    auth = parse_auth(value, header)
    return {name.lower(): auth.get(name) or "" for name, _ in auth.params}


def alice() -> DigestClient:
    client = DigestClient()
    client.add("alice", "wonderland")
    return client


# -- the published vectors ------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_example(algorithm: str, expected: str) -> None:
    # RFC 7616 §3.9.1.
    key = ha1("Mufasa", "http-auth@example.org", "Circle of Life", algorithm)
    response = digest_response(
        algorithm=algorithm,
        ha1=key,
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        method="GET",
        uri="/dir/index.html",
        qop="auth",
        nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert response == expected


def test_rfc7616_sha512_256_userhash_example() -> None:
    # RFC 7616 §3.9.2, with the values of its errata (4897).
    user, realm = "J\u00e4s\u00f8n Doe", "api@example.org"
    key = ha1(user, realm, "Secret, or not?", "SHA-512-256")
    response = digest_response(
        algorithm="SHA-512-256",
        ha1=key,
        nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
        method="GET",
        uri="/doe.json",
        qop="auth",
        nc="00000001",
        cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
    )
    assert response == "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"
    # The client sends the hashed user name when the challenge asks for it.
    client = DigestClient()
    client.add(user, "Secret, or not?")
    challenge = (
        f'Digest realm="{realm}", nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", '
        'qop="auth", algorithm=SHA-512-256, userhash=true'
    )
    req = request()
    sent = retry(req, client.authorize(req, challenged(req, [("WWW-Authenticate", challenge)])))
    creds = creds_of(sent)
    assert creds["username"] == "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"
    assert creds["userhash"] == "true"
    # ... which this server, offering no userhash, refuses cleanly.
    server = DigestServer(realm, secret=SECRET)
    assert server.verify(sent, 0.0, lookup).status is AuthStatus.MALFORMED


def test_rfc2069_example_without_qop() -> None:
    # RFC 2069 §2.4, with the response its errata corrects.
    key = ha1("Mufasa", "testrealm@host.com", "CircleOfLife")
    response = digest_response(
        algorithm="MD5",
        ha1=key,
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        method="GET",
        uri="/dir/index.html",
    )
    assert response == "1949323746fe6a43ef61f9606e7febea"


def test_sess_variants_store_the_base_ha1() -> None:
    for name in ALGORITHMS:
        assert ha1("u", "r", "p", name) == ha1("u", "r", "p", name.removesuffix("-sess"))
    md5 = hashlib.md5
    a1 = md5(f"{md5(b'u:r:p').hexdigest()}:n:c".encode()).hexdigest()
    a2 = md5(b"REGISTER:sip:r").hexdigest()
    expected = md5(f"{a1}:n:00000001:c:auth:{a2}".encode()).hexdigest()
    got = digest_response(
        algorithm="MD5-sess",
        ha1=ha1("u", "r", "p"),
        nonce="n",
        method="REGISTER",
        uri="sip:r",
        qop="auth",
        nc="00000001",
        cnonce="c",
    )
    assert got == expected


# -- client and server together -------------------------------------------------


@pytest.mark.parametrize("proxy", [False, True], ids=["401", "407"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_round_trip(algorithm: str, proxy: bool) -> None:
    header = "Proxy-Authorization" if proxy else "Authorization"
    server = DigestServer(REALM, secret=SECRET, algorithms=(algorithm,))
    client = alice()
    req = request()
    assert server.verify(req, 0.0, lookup, proxy=proxy).status is AuthStatus.MISSING
    sent = authenticate(server, client, req, proxy=proxy)
    assert sent.headers.get("Authorization" if proxy else "Proxy-Authorization") is None
    result = server.verify(sent, 1.0, lookup, proxy=proxy)
    assert result.ok, result
    assert (result.username, result.realm, result.algorithm) == ("alice", REALM, algorithm)
    creds = creds_of(sent, header)
    assert creds["nc"] == "00000001" and creds["qop"] == "auth"
    assert creds["algorithm"] == algorithm and creds["opaque"]
    # Later requests carry credentials up front: same nonce, next count.
    later = preemptive(client, request("MESSAGE", "sip:bob@example.com", cseq=7))
    again = creds_of(later, header)
    assert again["nonce"] == creds["nonce"] and again["nc"] == "00000002"
    assert server.verify(later, 2.0, lookup, proxy=proxy).ok


def test_default_challenge_offers_sha256_then_md5() -> None:
    lines = DigestServer(REALM).challenge(0.0)
    challenges = [parse_auth(v, name) for name, v in lines]
    assert [name for name, _ in lines] == ["WWW-Authenticate"] * 2
    assert [c.algorithm for c in challenges] == ["SHA-256", "MD5"]
    assert all(c.qop_options == ["auth"] and c.opaque and not c.stale for c in challenges)
    assert challenges[0].nonce != challenges[1].nonce
    ((_, only),) = DigestServer(REALM).challenge(0.0, algorithms=["SHA-512-256-sess"])
    assert parse_auth(only, "WWW-Authenticate").algorithm == "SHA-512-256-sess"
    stale = DigestServer(REALM).challenge(0.0, stale=True, proxy=True)
    assert all(n == "Proxy-Authenticate" and parse_auth(v, n).stale for n, v in stale)


def test_auth_int_covers_the_body() -> None:
    server = DigestServer(REALM, secret=SECRET, qop=("auth-int",))
    sent = authenticate(server, alice(), request("MESSAGE", body=b"hello"))
    assert creds_of(sent)["qop"] == "auth-int"
    assert server.verify(sent, 0.0, lookup).ok
    tampered = Request(sent.method, sent.uri_text, sent.headers, b"HELLO")
    assert server.verify(tampered, 0.0, lookup).status is AuthStatus.WRONG_RESPONSE


def test_client_prefers_auth_over_auth_int() -> None:
    server = DigestServer(REALM, secret=SECRET, qop=("auth-int", "auth"))
    sent = authenticate(server, alice(), request())
    assert creds_of(sent)["qop"] == "auth"
    assert server.verify(sent, 0.0, lookup).ok


def test_rfc2069_challenge_without_qop() -> None:
    server = DigestServer(REALM, secret=SECRET, algorithms=("MD5",), qop=())
    sent = authenticate(server, alice(), request())
    creds = creds_of(sent)
    assert "qop" not in creds and "nc" not in creds and "cnonce" not in creds
    key = ha1("alice", REALM, "wonderland")
    assert creds["response"] == digest_response(
        algorithm="MD5", ha1=key, nonce=creds["nonce"], method="REGISTER", uri="sip:example.com"
    )
    assert server.verify(sent, 0.0, lookup).ok
    # A server that offered qop does not take an answer without it.
    strict = DigestServer(REALM, secret=SECRET, algorithms=("MD5",))
    assert strict.verify(sent, 0.0, lookup).status is AuthStatus.MALFORMED


def test_escaped_username_round_trip() -> None:
    client = DigestClient()
    client.add('q"uo\\te', 'pa\\ss"word', realm=REALM)
    server = DigestServer(REALM, secret=SECRET)
    sent = authenticate(server, client, request())
    assert 'username="q\\"uo\\\\te"' in (sent.headers.get("Authorization") or "")
    result = server.verify(sent, 0.0, lookup)
    assert result.ok and result.username == 'q"uo\\te'


@pytest.mark.parametrize(
    ("username", "password", "realm"),
    [
        ("al\rice", "pw", None),
        ("alice", "p\nw", None),
        ("alice", "pw", "ex\r\nample"),
        ("a\0", "p", None),
    ],
)
def test_client_refuses_header_injection(username: str, password: str, realm: str | None) -> None:
    with pytest.raises(SIPUsageError):
        DigestClient().add(username, password, realm)


# -- stale nonces, wrong passwords, replays ------------------------------------


def test_expired_nonce_is_stale_and_client_retries() -> None:
    server = DigestServer(REALM, secret=SECRET, nonce_lifetime=300)
    client = alice()
    sent = authenticate(server, client, request(), now=1000.0)
    assert server.verify(sent, 1300.0, lookup).ok
    late = preemptive(client, request(cseq=5))
    result = server.verify(late, 1300.5, lookup)
    assert result.status is AuthStatus.STALE_NONCE and result.stale
    resp = challenged(late, server.challenge(1300.5, stale=result.stale))
    fresh = retry(late, client.authorize(late, resp))
    assert creds_of(fresh)["nc"] == "00000001"
    assert server.verify(fresh, 1301.0, lookup).ok


def test_stale_even_for_an_answer_to_a_fresh_nonce() -> None:
    server = DigestServer(REALM, secret=SECRET)
    client = alice()
    sent = authenticate(server, client, request(), now=0.0)
    result = server.verify(sent, 301.0, lookup)
    assert result.status is AuthStatus.STALE_NONCE
    resp = challenged(sent, server.challenge(301.0, stale=True))
    assert server.verify(retry(sent, client.authorize(sent, resp)), 302.0, lookup).ok


def test_wrong_password_detected_with_fresh_nonce() -> None:
    server = DigestServer(REALM, secret=SECRET)
    client = DigestClient()
    client.add("alice", "not-the-password")
    sent = authenticate(server, client, request())
    result = server.verify(sent, 0.0, lookup)
    assert result.status is AuthStatus.WRONG_RESPONSE and not result.stale
    resp = challenged(sent, server.challenge(0.0, stale=result.stale))
    with pytest.raises(WrongPassword) as info:
        client.authorize(sent, resp)
    assert info.value.realm == REALM
    assert client.preemptive(sent) == []  # nothing cached to resend
    # New credentials make the client answer again.
    client.add("alice", "wonderland")
    assert server.verify(retry(sent, client.authorize(sent, resp)), 0.0, lookup).ok


def test_wrong_password_detected_when_the_same_nonce_comes_back() -> None:
    client = DigestClient()
    client.add("alice", "bad")
    lines = [("WWW-Authenticate", f'Digest realm="{REALM}", nonce="abc", qop="auth"')]
    req = request()
    sent = retry(req, client.authorize(req, challenged(req, lines)))
    with pytest.raises(WrongPassword):
        client.authorize(sent, challenged(sent, lines))
    stale = [("WWW-Authenticate", f'Digest realm="{REALM}", nonce="abc", qop="auth", stale=true')]
    assert client.authorize(sent, challenged(sent, stale))


def test_refused_preemptive_credentials_are_retried() -> None:
    # A server that forgot a nonce but does not say stale: the reused
    # credentials (nc > 1) are not taken as a wrong password.
    server = DigestServer(REALM, secret=SECRET)
    client = alice()
    authenticate(server, client, request())
    later = preemptive(client, request(cseq=9))
    other = DigestServer(REALM)  # a restarted server with a new secret
    resp = challenged(later, other.challenge(0.0))
    assert other.verify(retry(later, client.authorize(later, resp)), 0.0, lookup).ok


def test_nonce_count_replay_refused() -> None:
    server = DigestServer(REALM, secret=SECRET)
    client = alice()
    sent = authenticate(server, client, request())
    assert server.verify(sent, 0.0, lookup).ok
    replay = server.verify(sent, 0.0, lookup)
    assert replay.status is AuthStatus.NC_REPLAY and replay.stale
    second = preemptive(client, request(cseq=3))
    third = preemptive(client, request(cseq=4))
    assert server.verify(third, 0.0, lookup).ok
    assert server.verify(second, 0.0, lookup).status is AuthStatus.NC_REPLAY


def test_wrong_digest_does_not_advance_the_count() -> None:
    server = DigestServer(REALM, secret=SECRET)
    sent = authenticate(server, alice(), request())
    forged = sent.headers.get("Authorization") or ""
    creds = creds_of(sent)
    bad = forged.replace(creds["response"], "0" * 64).replace("nc=00000001", "nc=00000099")
    attack = request(cseq=2, headers=[("Authorization", bad)])
    assert server.verify(attack, 0.0, lookup).status is AuthStatus.WRONG_RESPONSE
    assert server.verify(sent, 0.0, lookup).ok


def test_nonce_table_is_bounded_and_forgotten_nonces_are_refused() -> None:
    server = DigestServer(REALM, secret=SECRET, max_nonces=2)
    sent = [authenticate(server, alice(), request(), now=float(i)) for i in range(3)]
    first = request(cseq=5, headers=[("Authorization", sent[0].headers.get("Authorization") or "")])
    assert server.verify(sent[0], 10.0, lookup).ok
    assert server.verify(sent[1], 10.0, lookup).ok
    assert server.verify(sent[2], 10.0, lookup).ok  # evicts the first nonce
    assert len(server._seen) == 2
    assert server.verify(first, 10.0, lookup).status is AuthStatus.NC_REPLAY
    assert server.verify(sent[2], 10.0, lookup).status is AuthStatus.NC_REPLAY


def _with_nonce(lines: list[tuple[str, str]], change: str) -> list[tuple[str, str]]:
    out = []
    for name, value in lines:
        nonce = parse_auth(value, name).nonce or ""
        new = {
            "flip": nonce[:5] + ("A" if nonce[5] != "A" else "B") + nonce[6:],
            "short": nonce[:-1],
        }
        out.append((name, value.replace(nonce, new[change])))
    return out


@pytest.mark.parametrize("change", ["flip", "short"])
def test_tampered_nonce_refused(change: str) -> None:
    server = DigestServer(REALM, secret=SECRET, algorithms=("SHA-256",))
    req = request()
    resp = challenged(req, _with_nonce(server.challenge(0.0), change))
    sent = retry(req, alice().authorize(req, resp))
    result = server.verify(sent, 0.0, lookup)
    # The client knows the password, so it may retry with a real nonce.
    assert result.status is AuthStatus.BAD_NONCE and result.stale


def test_nonce_from_another_server_refused() -> None:
    other = DigestServer(REALM, secret=b"another secret of 32 bytes......")
    sent = authenticate(other, alice(), request())
    server = DigestServer(REALM, secret=SECRET)
    assert server.verify(sent, 0.0, lookup).status is AuthStatus.BAD_NONCE
    assert other.verify(sent, 0.0, lookup).ok


def test_nonce_bound_to_its_algorithm() -> None:
    server = DigestServer(REALM, secret=SECRET, algorithms=("SHA-256",))
    ((name, value),) = server.challenge(0.0)
    req = request()
    downgraded = [(name, value.replace("algorithm=SHA-256", "algorithm=MD5"))]
    sent = retry(req, alice().authorize(req, challenged(req, downgraded)))
    assert server.verify(sent, 0.0, lookup).status is AuthStatus.BAD_NONCE


def test_tampered_opaque_refused() -> None:
    server = DigestServer(REALM, secret=SECRET)
    lines = [(n, v.replace('opaque="', 'opaque="x')) for n, v in server.challenge(0.0)]
    req = request()
    sent = retry(req, alice().authorize(req, challenged(req, lines)))
    assert server.verify(sent, 0.0, lookup).status is AuthStatus.BAD_NONCE


def test_forged_nonce_with_wrong_password_is_not_stale() -> None:
    server = DigestServer(REALM, secret=SECRET)
    client = DigestClient()
    client.add("alice", "guess")
    req = request()
    sent = retry(
        req, client.authorize(req, challenged(req, _with_nonce(server.challenge(0.0), "flip")))
    )
    result = server.verify(sent, 0.0, lookup)
    assert result.status is AuthStatus.WRONG_RESPONSE and not result.stale


# -- realms and choosing among challenges -------------------------------------


def test_credentials_per_realm() -> None:
    client = DigestClient()
    client.add("alice", "wonderland", realm="a.example")
    client.add('q"uo\\te', 'pa\\ss"word', realm="b.example")
    client.add("alice", "wonderland")  # any other realm
    for realm, user in [("a.example", "alice"), ("b.example", 'q"uo\\te'), ("c.example", "alice")]:
        server = DigestServer(realm, secret=SECRET)
        result = server.verify(authenticate(server, client, request()), 0.0, lookup)
        assert result.ok and result.username == user and result.realm == realm


def test_no_credentials_for_the_realm() -> None:
    client = DigestClient()
    client.add("alice", "wonderland", realm="elsewhere.example")
    req = request()
    with pytest.raises(NoCredentials) as info:
        client.authorize(req, challenged(req, DigestServer(REALM).challenge(0.0)))
    assert info.value.realm == REALM


def test_strongest_challenge_answered() -> None:
    server = DigestServer(REALM, secret=SECRET, algorithms=("MD5", "SHA-256", "MD5-sess"))
    sent = authenticate(server, alice(), request())
    assert len(sent.headers.get_all("Authorization")) == 1
    assert creds_of(sent)["algorithm"] == "SHA-256"
    assert server.verify(sent, 0.0, lookup).algorithm == "SHA-256"


def test_unsupported_challenges_skipped() -> None:
    server = DigestServer(REALM, secret=SECRET, algorithms=("MD5",))
    extra = [
        ("WWW-Authenticate", f'Digest realm="{REALM}", nonce="n1", algorithm=SHA3-999'),
        ("WWW-Authenticate", f'Digest realm="{REALM}", nonce="n2", qop="auth-conf"'),
        ("WWW-Authenticate", 'Basic realm="x"'),
        ("WWW-Authenticate", 'Digest realm="unterminated, nonce=1'),
    ]
    req = request()
    lines = alice().authorize(req, challenged(req, extra + server.challenge(0.0)))
    assert server.verify(retry(req, lines), 0.0, lookup).ok
    with pytest.raises(UnsupportedChallenge):
        alice().authorize(req, challenged(req, extra))
    with pytest.raises(SIPUsageError):
        alice().authorize(req, challenged(req, [], status=403))


def test_two_proxies_two_realms() -> None:
    # RFC 3261 §22.3: a forking proxy merges 407s; one answer per realm.
    first = DigestServer("one.example", secret=SECRET)
    second = DigestServer("two.example", secret=SECRET)
    req = request("INVITE", "sip:bob@example.com")
    lines = first.challenge(0.0, proxy=True) + second.challenge(0.0, proxy=True)
    client = alice()
    answers = client.authorize(req, challenged(req, lines, 407))
    assert len(answers) == 2
    sent = retry(req, answers)
    assert first.verify(sent, 0.0, lookup, proxy=True).ok
    assert second.verify(sent, 0.0, lookup, proxy=True).ok
    assert first.verify(sent, 0.0, lookup).status is AuthStatus.MISSING
    assert [n for n, _ in client.preemptive(req)] == ["Proxy-Authorization"] * 2
    ((_, only),) = client.preemptive(req, realm="two.example")
    assert parse_auth(only, "Proxy-Authorization").realm == "two.example"


def test_apply_credentials_replaces_only_the_same_realm() -> None:
    req = request(
        headers=[
            ("Authorization", 'Digest realm="a", nonce="1"'),
            ("Authorization", 'Digest realm="b", nonce="2"'),
        ]
    )
    apply_credentials(req, [("Authorization", 'Digest realm="a", nonce="3"')])
    assert [parse_auth(v, "Authorization").nonce for v in req.headers.get_all("Authorization")] == [
        "2",
        "3",
    ]


# -- refusals -------------------------------------------------------------------


def test_realm_mismatch_unknown_user_and_missing() -> None:
    server = DigestServer(REALM, secret=SECRET)
    other = DigestServer("other.example", secret=SECRET)
    sent = authenticate(other, alice(), request())
    assert server.verify(sent, 0.0, lookup).status is AuthStatus.REALM_MISMATCH
    stranger = DigestClient()
    stranger.add("mallory", "x")
    assert server.verify(authenticate(server, stranger, request()), 0.0, lookup).status is (
        AuthStatus.UNKNOWN_USER
    )
    basic = request(headers=[("Authorization", "Basic YWxpY2U6d29uZGVybGFuZA==")])
    assert server.verify(basic, 0.0, lookup).status is AuthStatus.MISSING


def test_uri_must_name_the_request_uri() -> None:
    server = DigestServer(REALM, secret=SECRET)
    sent = authenticate(server, alice(), request())
    moved = Request(sent.method, "sip:elsewhere.example", sent.headers, sent.body)
    assert server.verify(moved, 0.0, lookup).status is AuthStatus.URI_MISMATCH
    # The same URI written differently (RFC 3261 §19.1.4) is the same URI.
    same = Request(sent.method, "sip:EXAMPLE.COM", sent.headers, sent.body)
    assert server.verify(same, 0.0, lookup).ok


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("nc=00000001", "nc=0000000g"),
        ("nc=00000001", "nc=0x000001"),
        ("nc=00000001", "nc=00000000"),
        ("nc=00000001", "nc=1"),
        ("qop=auth", "qop=auth-conf"),
        ("algorithm=SHA-256", "algorithm=SHA3"),
        ('response="', 'response="zz'),
        ('response="', 'response="ab'),
        ('nonce="', 'x-nonce="'),
        ("cnonce=", "x-cnonce="),
    ],
)
def test_malformed_credentials_refused(old: str, new: str) -> None:
    server = DigestServer(REALM, secret=SECRET)
    value = authenticate(server, alice(), request()).headers.get("Authorization") or ""
    assert old in value
    bad = request(headers=[("Authorization", value.replace(old, new, 1))])
    result = server.verify(bad, 0.0, lookup)
    assert result.status is AuthStatus.MALFORMED and not result.ok


def test_huge_and_broken_values_refused() -> None:
    server = DigestServer(REALM, secret=SECRET)
    huge = f'Digest realm="{REALM}", username="{"a" * 5000}", nonce="n", uri="sip:x", response="0"'
    for value in [huge, 'Digest realm="unterminated', "Digest", "Digest ,,,", 'Digest nonce="1"']:
        result = server.verify(request(headers=[("Authorization", value)]), 0.0, lookup)
        assert result.status is AuthStatus.MALFORMED, value


def test_server_configuration_checked() -> None:
    for kwargs in [
        {"algorithms": ("SHA-1",)},
        {"algorithms": ()},
        {"algorithms": "MD5"},
        {"qop": ("auth-conf",)},
        {"secret": b"short"},
        {"nonce_lifetime": 0},
        {"max_nonces": 0},
    ]:
        with pytest.raises(SIPUsageError):
            DigestServer(REALM, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(SIPUsageError):
        DigestServer("bad\r\nrealm")
    with pytest.raises(SIPUsageError):
        ha1("u", "r", "p", "SHA-1")


# -- the error contract, as a property ------------------------------------------

_PARAM_NAMES = st.sampled_from(
    [
        "realm",
        "nonce",
        "username",
        "uri",
        "response",
        "algorithm",
        "qop",
        "nc",
        "cnonce",
        "opaque",
        "userhash",
    ]
)
_PARAM_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [REALM, "sip:example.com", "alice", "auth", "00000001", "MD5", "SHA-256", "a" * 64]
    ),
    st.from_regex(r"[0-9a-fA-Fx]{0,10}", fullmatch=True),
)


@st.composite
def digest_like(draw: st.DrawFn) -> str:
    params = draw(st.lists(st.tuples(_PARAM_NAMES, _PARAM_VALUES, st.booleans()), max_size=12))
    text = ", ".join(
        f'{n}="{v.replace(chr(92), "").replace(chr(34), "")}"' if quoted else f"{n}={v}"
        for n, v, quoted in params
    )
    return draw(st.sampled_from(["Digest ", "digest ", "DIGEST\t", ""])) + text


@given(
    st.lists(st.one_of(st.text(max_size=300), digest_like()), min_size=1, max_size=3), st.booleans()
)
def test_verify_refuses_arbitrary_values_without_raising(values: list[str], proxy: bool) -> None:
    server = DigestServer(REALM, secret=SECRET)
    name = "Proxy-Authorization" if proxy else "Authorization"
    try:
        req = request(headers=[(name, v) for v in values])
    except SIPUsageError:
        assume(False)
        return
    result = server.verify(req, 0.0, lookup, proxy=proxy)
    assert not result.ok
    assert isinstance(result.status, AuthStatus)


_VALID = authenticate(DigestServer(REALM, secret=SECRET), alice(), request())


@given(_PARAM_NAMES, st.text(max_size=80))
def test_one_parameter_changed_is_refused_without_raising(name: str, value: str) -> None:
    original = parse_auth(_VALID.headers.get("Authorization") or "", "Authorization")
    old = original.get(name)
    assume(old is None or old.lower() != value.lower())
    params = [(n, v) for n, v in original.params if n.lower() != name]
    try:
        params.append((name, quote(value)))
        changed = "Digest " + ", ".join(f"{n}={v}" for n, v in params)
        req = request(headers=[("Authorization", changed)])
    except SIPUsageError:
        assume(False)
        return
    result = DigestServer(REALM, secret=SECRET).verify(req, 0.0, lookup)
    # Only userhash may change harmlessly: anything but "true" means false.
    assert not result.ok or (name == "userhash" and value.lower() != "true")
