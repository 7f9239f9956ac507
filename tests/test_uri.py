"""URIs: sip/sips (RFC 3261 §19.1), tel (RFC 3966), absolute URIs of other
schemes, IPv6 references (RFC 5118, RFC 5954) and the §19.1.4 comparison
rules with every example RFC 3261 gives."""

from __future__ import annotations

import pytest

from sipstack.errors import SIPParseError, SIPUsageError
from sipstack.message import AbsoluteURI, Params, SipURI, TelURI, parse_uri

# ---------------------------------------------------------------------------
# Components of SIP URIs (RFC 3261 §19.1.1, §19.1.3 examples)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scheme", "user", "password", "host", "port"),
    [
        # RFC 3261 §19.1.3 examples
        ("sip:alice@atlanta.com", "sip", "alice", None, "atlanta.com", None),
        (
            "sip:alice:secretword@atlanta.com;transport=tcp",
            "sip",
            "alice",
            "secretword",
            "atlanta.com",
            None,
        ),
        (
            "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sips",
            "alice",
            None,
            "atlanta.com",
            None,
        ),
        (
            "sip:+1-212-555-1212:1234@gateway.com;user=phone",
            "sip",
            "+1-212-555-1212",
            "1234",
            "gateway.com",
            None,
        ),
        ("sips:1212@gateway.com", "sips", "1212", None, "gateway.com", None),
        ("sip:alice@192.0.2.4", "sip", "alice", None, "192.0.2.4", None),
        (
            "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
            "sip",
            None,
            None,
            "atlanta.com",
            None,
        ),
        (
            "sip:alice;day=tuesday@atlanta.com",
            "sip",
            "alice;day=tuesday",
            None,
            "atlanta.com",
            None,
        ),
        # ports
        ("sip:bob@biloxi.com:5060", "sip", "bob", None, "biloxi.com", 5060),
        ("sip:bob@biloxi.com:0", "sip", "bob", None, "biloxi.com", 0),
        ("sip:bob@biloxi.com:65535", "sip", "bob", None, "biloxi.com", 65535),
        ("sip:biloxi.com:5061", "sip", None, None, "biloxi.com", 5061),
        # scheme is case-insensitive and normalised to lower case
        ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip", "ALICE", None, "AtLanTa.CoM", None),
        ("SiPs:bob@example.com", "sips", "bob", None, "example.com", None),
        # empty password is allowed by the grammar (password = *( ... ))
        ("sip:alice:@atlanta.com", "sip", "alice", "", "atlanta.com", None),
        # fully qualified domain name with trailing dot
        ("sip:alice@atlanta.com.", "sip", "alice", None, "atlanta.com.", None),
        # RFC 4475 §3.1.1.2 (intmeth): unusual but legal userinfo characters
        (
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
            "sip",
            "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*",
            "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)",
            "example.com",
            None,
        ),
        # RFC 4475 §3.1.1.9 (semiuri): user part with ";" and an escaped "@"
        (
            "sip:user;par=u%40example.net@example.com",
            "sip",
            "user;par=u@example.net",
            None,
            "example.com",
            None,
        ),
    ],
)
def test_sip_uri_components(text, scheme, user, password, host, port):
    uri = parse_uri(text)
    assert isinstance(uri, SipURI)
    assert uri.scheme == scheme
    assert uri.user == user
    assert uri.password == password
    assert uri.host == host
    assert uri.port == port
    assert str(uri) == text
    assert uri.secure == (scheme == "sips")


def test_uri_params_and_helpers():
    uri = parse_uri(
        "sip:alice@atlanta.com;transport=TCP;lr;maddr=239.255.255.1;ttl=15;user=phone;method=INVITE"
    )
    assert uri.transport == "tcp"  # lower-cased
    assert uri.lr is True
    assert uri.maddr == "239.255.255.1"
    assert uri.params.get("ttl") == "15"
    assert uri.params.get("USER") == "phone"  # parameter names are case-insensitive
    assert uri.params.get("method") == "INVITE"
    assert uri.params.names() == ["transport", "lr", "maddr", "ttl", "user", "method"]
    assert "lr" in uri.params
    assert uri.params.get("lr") is None
    assert uri.params.get("absent", "dflt") == "dflt"


def test_uri_without_params():
    uri = parse_uri("sip:alice@atlanta.com")
    assert uri.transport is None
    assert uri.lr is False
    assert uri.maddr is None
    assert len(uri.params) == 0
    assert uri.headers == ()


@pytest.mark.parametrize(
    ("text", "headers"),
    [
        (
            "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
            (("subject", "project%20x"), ("priority", "urgent")),
        ),
        (
            "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
            (("to", "alice%40atlanta.com"),),
        ),
        (
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            (("Route", "%3Csip:sip.example.com%3E"),),
        ),
        ("sip:bob@biloxi.com?subject=", (("subject", ""),)),  # hvalue may be empty
    ],
)
def test_uri_headers(text, headers):
    uri = parse_uri(text)
    assert uri.headers == headers
    assert str(uri) == text


@pytest.mark.parametrize(
    ("text", "user"),
    [
        ("sip:%61lice@atlanta.com", "alice"),
        ("sip:%75se%72@example.com", "user"),  # RFC 4475 §3.1.1.3 (esc01)
        ("sip:I%20have%20spaces@example.net", "I have spaces"),  # RFC 4475 §3.1.1.3
        ("sip:sips%3Auser%40example.com@example.net", "sips:user@example.com"),  # RFC 4475 §3.1.1.3
        ("sip:null-%00-null@example.com", "null-\x00-null"),  # RFC 4475 §3.1.1.4 (escnull)
        ("sip:%00@host5.example.com", "\x00"),
        ("sip:%00%00@host5.example.com", "\x00\x00"),
        ("sip:%C3%A9@example.com", "é"),  # UTF-8 escapes
    ],
)
def test_escaped_user_is_unescaped(text, user):
    uri = parse_uri(text)
    assert uri.user == user
    assert str(uri) == text  # the text is kept as written


def test_escaped_password_is_unescaped():
    uri = parse_uri("sip:alice:p%40ss@atlanta.com")
    assert uri.password == "p@ss"


def test_escnull_users_stay_distinct():
    # RFC 4475 §3.1.1.4: the AoR must not be shortened at the NUL.
    a = parse_uri("sip:%00@host5.example.com")
    b = parse_uri("sip:%00%00@host5.example.com")
    assert a != b
    assert a.aor == "sip:%00@host5.example.com"
    assert b.aor == "sip:%00%00@host5.example.com"


def test_uri_param_value_unescaped_once():
    # RFC 4475 §3.1.1.3: "v%61lue%25%34%31" means "value%41", NOT "valueA".
    a = parse_uri("sip:caller@host5.example.net;name=v%61lue%25%34%31")
    assert a == parse_uri("sip:caller@host5.example.net;name=value%2541")
    assert a != parse_uri("sip:caller@host5.example.net;name=valueA")


def test_aor():
    assert parse_uri("sip:alice@AtLanTa.CoM:5060;transport=tcp?x=y").aor == "sip:alice@atlanta.com"
    assert parse_uri("sips:%61lice@atlanta.com").aor == "sips:alice@atlanta.com"
    assert parse_uri("sip:example.com").aor == "sip:example.com"
    # userinfo stays case-sensitive
    assert parse_uri("sip:ALICE@atlanta.com").aor == "sip:ALICE@atlanta.com"


# ---------------------------------------------------------------------------
# IPv6 references (RFC 3261 §19.1.1, RFC 5118, RFC 5954)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("sip:[2001:db8::10]", "[2001:db8::10]", None),  # RFC 5118 §4.1
        ("sip:caller@[2001:db8::1]", "[2001:db8::1]", None),  # RFC 5118 §4.1 Contact
        ("sip:[2001:db8::10:5070]", "[2001:db8::10:5070]", None),  # RFC 5118 §4.3 port-ambiguous
        ("sip:[2001:db8::10]:5070", "[2001:db8::10]", 5070),  # RFC 5118 §4.4 port-unambiguous
        ("sip:ted@[::ffff:192.0.2.2]", "[::ffff:192.0.2.2]", None),  # RFC 5118 §4.9
        (
            "sip:user@[2001:db8::192.0.2.1]",
            "[2001:db8::192.0.2.1]",
            None,
        ),  # RFC 5118 §4.10, 2 colons
        ("sip:[::1]:5060;transport=tcp", "[::1]", 5060),
        ("sip:[::]", "[::]", None),
        ("sip:alice@[2001:DB8:0:0:0:0:0:1]", "[2001:DB8:0:0:0:0:0:1]", None),
    ],
)
def test_ipv6_reference(text, host, port):
    uri = parse_uri(text)
    assert uri.host == host
    assert uri.port == port
    assert str(uri) == text


@pytest.mark.parametrize(
    "text",
    [
        "sip:2001:db8::10",  # RFC 5118 §4.2: IPv6 address without brackets
        "sip:user@2001:db8::1",
        "sip:user@[2001:db8:::192.0.2.1]",  # RFC 5118 §4.10 / RFC 5954: three colons
        "sip:[2001:db8::10",  # unterminated
        "sip:[2001:db8::10]5070",  # junk after the reference
        "sip:[2001:db8::10]:",  # empty port
        "sip:[]",
        "sip:[192.0.2.1]",  # an IPv4 address is not an IPv6 reference
        "sip:[fe80::1%eth0]",  # zone ids are not part of the grammar
        "sip:[1:2:3:4:5:6:7:8:9]",
        "sip:[gggg::1]",
    ],
)
def test_bad_ipv6_reference(text):
    with pytest.raises(SIPParseError):
        parse_uri(text)


def test_ipv6_host_compares_case_insensitively():
    assert parse_uri("sip:[2001:DB8::10]") == parse_uri("sip:[2001:db8::10]")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("sip:[2001:db8::9:1]", "sip:[2001:db8::9:01]"),
        ("sip:[0:0:0:0:0:FFFF:129.144.52.38]", "sip:[::FFFF:129.144.52.38]"),
        ("sip:bob@[::ffff:192.0.2.128]", "sip:bob@[::ffff:c000:280]"),
    ],
)
def test_ipv6_equivalent_text_forms(a, b):
    assert parse_uri(a) == parse_uri(b)


def test_ipv4_mapped_ipv6_differs_from_ipv4():
    # RFC 5954 §4: an IPv4-mapped IPv6 reference is not the IPv4 address.
    assert parse_uri("sip:bob@[::ffff:192.0.2.128]") != parse_uri("sip:bob@192.0.2.128")


# ---------------------------------------------------------------------------
# §19.1.4 comparison: every example of RFC 3261
# ---------------------------------------------------------------------------

RFC3261_EQUAL = [
    ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
    ("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"),
    (
        "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
        "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
    ),
    (
        "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
    ),
    # "equality is not transitive" example, first two pairs
    ("sip:carol@chicago.com", "sip:carol@chicago.com;security=off"),
]

RFC3261_NOT_EQUAL = [
    (
        "SIP:ALICE@AtLanTa.CoM;Transport=udp",
        "sip:alice@AtLanTa.CoM;Transport=UDP",
    ),  # different usernames
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),  # can resolve to different ports
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"),  # different port and transport
    ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),  # different header
    (
        "sip:bob@phone21.boxesbybob.com",
        "sip:bob@192.0.2.4",
    ),  # even though that's what it resolves to
    # "equality is not transitive": these two are not equivalent
    ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"),
]


@pytest.mark.parametrize(("a", "b"), RFC3261_EQUAL, ids=[f"{a} == {b}" for a, b in RFC3261_EQUAL])
def test_rfc3261_equal_examples(a, b):
    ua, ub = parse_uri(a), parse_uri(b)
    assert ua == ub
    assert ub == ua
    assert hash(ua) == hash(ub)


@pytest.mark.parametrize(
    ("a", "b"), RFC3261_NOT_EQUAL, ids=[f"{a} != {b}" for a, b in RFC3261_NOT_EQUAL]
)
def test_rfc3261_not_equal_examples(a, b):
    ua, ub = parse_uri(a), parse_uri(b)
    assert ua != ub
    assert ub != ua


def test_rfc3261_not_equal_transport_present_in_one():
    # RFC 3261 §19.1.4: "sip:bob@biloxi.com" and "sip:bob@biloxi.com;transport=udp"
    # are NOT equivalent (can resolve to different transports).
    assert parse_uri("sip:bob@biloxi.com") != parse_uri("sip:bob@biloxi.com;transport=udp")


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        # scheme
        ("sip:alice@atlanta.com", "sips:alice@atlanta.com", False),
        # userinfo is case-sensitive, host is not
        ("sip:alice@atlanta.com", "sip:Alice@atlanta.com", False),
        ("sip:alice@ATLANTA.com", "sip:alice@atlanta.COM", True),
        ("sip:alice:pw@atlanta.com", "sip:alice@atlanta.com", False),
        ("sip:alice:pw@atlanta.com", "sip:alice:PW@atlanta.com", False),
        ("sip:alice:p%77@atlanta.com", "sip:alice:pw@atlanta.com", True),
        # user, ttl, method and maddr in one URI only never match
        ("sip:alice@atlanta.com;user=phone", "sip:alice@atlanta.com", False),
        ("sip:alice@atlanta.com;ttl=1", "sip:alice@atlanta.com", False),
        ("sip:alice@atlanta.com;method=INVITE", "sip:alice@atlanta.com", False),
        ("sip:alice@atlanta.com;maddr=239.255.255.1", "sip:alice@atlanta.com", False),
        # parameters in both must match (case-insensitively)
        ("sip:alice@atlanta.com;transport=tcp", "sip:alice@atlanta.com;transport=udp", False),
        ("sip:alice@atlanta.com;transport=tcp", "sip:alice@atlanta.com;TRANSPORT=TCP", True),
        ("sip:alice@atlanta.com;lr", "sip:alice@atlanta.com;lr", True),
        ("sip:alice@atlanta.com;lr", "sip:alice@atlanta.com;lr=on", False),
        # parameter order does not matter
        ("sip:a@b.com;x=1;y=2", "sip:a@b.com;y=2;x=1", True),
        # headers must be present in both
        ("sip:a@b.com?subject=x", "sip:a@b.com?subject=x&priority=urgent", False),
        ("sip:a@b.com?subject=x", "sip:a@b.com?subject=y", False),
        ("sip:a@b.com?subject=hi%20there", "sip:a@b.com?subject=hi%20th%65re", True),
        ("sip:a@b.com?Subject=x", "sip:a@b.com?subject=x", True),
        # ports
        ("sip:a@b.com:5060", "sip:a@b.com:5060", True),
        ("sip:a@b.com:5060", "sip:a@b.com:5070", False),
    ],
)
def test_sip_uri_comparison_rules(a, b, equal):
    assert (parse_uri(a) == parse_uri(b)) is equal


def test_escaped_param_names_compare_unescaped():
    # RFC 3261 §19.1.4: characters outside "reserved" equal their %HEX HEX form.
    assert parse_uri("sip:h.example.com;maddr=x.example.com") == parse_uri(
        "sip:h.example.com;m%61ddr=x.example.com"
    )
    assert parse_uri("sip:h.example.com;m%61ddr=x.example.com") != parse_uri("sip:h.example.com")
    assert parse_uri("sip:h.example.com;%6C%72") == parse_uri("sip:h.example.com;lr")


def test_escaped_param_names_seen_by_helpers():
    # RFC 4475 §3.1.1.3 (esc01) uses ";%6C%72" in a Contact URI: it is "lr".
    assert parse_uri("sip:caller@host5.example.net;%6C%72").lr
    assert parse_uri("sip:h.example.com;m%61ddr=x.example.com").maddr == "x.example.com"


def test_sip_uri_not_equal_to_other_uri_types():
    assert parse_uri("sip:1234@example.com") != parse_uri("tel:1234")
    assert parse_uri("sip:alice@example.com") != "sip:alice@example.com"


# ---------------------------------------------------------------------------
# tel URIs (RFC 3966)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number", "is_global"),
    [
        ("tel:+1-201-555-0123", "+1-201-555-0123", True),
        ("tel:7042;phone-context=example.com", "7042", False),
        ("tel:863-1234;phone-context=+1-914-555", "863-1234", False),
        ("tel:+358-555-1234567;postd=pp22", "+358-555-1234567", True),
        ("tel:*21#;phone-context=+1", "*21#", False),
        ("tel:+1(201)555.0123", "+1(201)555.0123", True),
    ],
)
def test_tel_uri(text, number, is_global):
    uri = parse_uri(text)
    assert isinstance(uri, TelURI)
    assert uri.scheme == "tel"
    assert uri.number == number
    assert uri.is_global is is_global
    assert str(uri) == text


def test_tel_uri_params():
    uri = parse_uri("tel:7042;phone-context=example.com;ext=22")
    assert uri.params.get("phone-context") == "example.com"
    assert uri.params.get("EXT") == "22"


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        # visual separators are ignored
        ("tel:+1-201-555-0123", "tel:+12015550123", True),
        ("tel:+1-201-555-0123", "tel:+1(201)555.0123", True),
        # parameters compare case-insensitively and in any order
        ("tel:7042;phone-context=example.com", "tel:7042;Phone-Context=EXAMPLE.COM", True),
        ("tel:7042;a=1;b=2", "tel:7042;b=2;a=1", True),
        # global and local numbers are never equal
        ("tel:+1234", "tel:1234", False),
        ("tel:7042;phone-context=example.com", "tel:7042;phone-context=example.net", False),
        ("tel:7042;phone-context=example.com", "tel:7042", False),
        ("tel:+1-201-555-0123", "tel:+1-201-555-0124", False),
    ],
)
def test_tel_uri_comparison(a, b, equal):
    ua, ub = parse_uri(a), parse_uri(b)
    assert (ua == ub) is equal
    if equal:
        assert hash(ua) == hash(ub)


@pytest.mark.parametrize(
    "text", ["tel:", "tel:+", "tel:12 34", "tel:+1<2>", "tel:1234;=x", "tel:1234;"]
)
def test_bad_tel_uri(text):
    with pytest.raises(SIPParseError):
        parse_uri(text)


# ---------------------------------------------------------------------------
# Other absolute URIs (kept opaque)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scheme", "rest"),
    [
        (
            "mailto:watson@bell-telephone.com",
            "mailto",
            "watson@bell-telephone.com",
        ),  # RFC 3261 §20.10
        (
            "soap.beep://192.0.2.103:3002",
            "soap.beep",
            "//192.0.2.103:3002",
        ),  # RFC 4475 §3.3.3 (novelsc)
        (
            "nobodyKnowsThisScheme:totallyopaquecontent",
            "nobodyKnowsThisScheme",
            "totallyopaquecontent",
        ),  # §3.3.2
        ("isbn:2983792873", "isbn", "2983792873"),  # RFC 4475 §3.3.4 (unksm2)
        ("http://www.example.com", "http", "//www.example.com"),
        ("name:John_Smith", "name", "John_Smith"),
        ("urn:service:sos", "urn", "service:sos"),
        ("im:alice@example.com", "im", "alice@example.com"),
    ],
)
def test_absolute_uri(text, scheme, rest):
    uri = parse_uri(text)
    assert isinstance(uri, AbsoluteURI)
    assert uri.scheme == scheme
    assert uri.rest == rest
    assert str(uri) == text


def test_absolute_uri_comparison():
    assert parse_uri("HTTP://www.example.com") == parse_uri("http://www.example.com")
    assert parse_uri("http://www.example.com") != parse_uri("http://WWW.example.com")
    assert hash(parse_uri("MAILTO:a@b")) == hash(parse_uri("mailto:a@b"))


# ---------------------------------------------------------------------------
# Illegal URIs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sip",
        "sip:",
        "noscheme",
        "1sip:host",  # scheme must start with a letter
        ":host",
        "sip:@host",  # user = 1*(...)
        "sip:user@",  # no host
        "sip:user@@host",
        "sip:us er@host",  # space
        "sip:user@host name",
        "sip:user@host:",  # empty port
        "sip:user@host:99999",  # port out of range
        "sip:user@host:65536",
        "sip:user@host:5060:5060",
        "sip:user@host:abc",
        "sip:user@host;",  # empty parameter
        "sip:user@host;;lr",
        "sip:user@host;=x",
        "sip:user@host;lr=",
        "sip:user@host;a b=c",
        "sip:host?",  # empty header
        "sip:host?a",  # header without "="
        "sip:host?a=b&",
        "sip:host?=b",
        "sip:user@ho<st",
        "sip:<user@host>",
        "sip:user@host>",
        "sip:user\r\n@host",
        "sip:user@host\x00",
        "sip:user@host\r\nVia: x",
        "sip:user@exa mple.com",
        "sip:user@host?subject=a b",
        'sip:us"er@host',
        "http:",
        "mailto:a b",
        "mailto:a<b",
        "x-unknown:bad\x7f",
    ],
)
def test_illegal_uris(text):
    with pytest.raises(SIPParseError):
        parse_uri(text)


def test_lenient_hostnames():
    # The grammar's domainlabel may not start or end with "-" and has no "_";
    # the parser accepts such labels on purpose ("as deployed").
    assert parse_uri("sip:alice@host_1.example.com").host == "host_1.example.com"
    assert parse_uri("sip:alice@-x.example.com").host == "-x.example.com"


# ---------------------------------------------------------------------------
# Building URIs
# ---------------------------------------------------------------------------


def test_build_sip_uri_escapes_user_and_round_trips():
    uri = SipURI(
        "example.com",
        user="alice smith",
        port=5061,
        scheme="sips",
        params=Params([("transport", "tls"), ("lr", None)]),
        headers=(("Subject", "hi"),),
    )
    text = str(uri)
    assert text == "sips:alice%20smith@example.com:5061;transport=tls;lr?Subject=hi"
    again = parse_uri(text)
    assert again == uri
    assert again.user == "alice smith"


def test_build_sip_uri_password_escaped():
    uri = SipURI("example.com", user="al@ice", password="p@ss:word")
    text = str(uri)
    assert text.count("@") == 1
    again = parse_uri(text)
    assert again.user == "al@ice"
    assert again.password == "p@ss:word"


def test_build_ipv6_sip_uri():
    uri = SipURI("[2001:db8::1]", port=5060)
    assert str(uri) == "sip:[2001:db8::1]:5060"
    assert parse_uri(str(uri)) == uri


def test_replace():
    uri = parse_uri("sip:alice@atlanta.com;transport=tcp")
    other = uri.replace(host="biloxi.com", port=5070)
    assert str(other) == "sip:alice@biloxi.com:5070;transport=tcp"
    assert str(uri) == "sip:alice@atlanta.com;transport=tcp"
    with pytest.raises(SIPUsageError):
        uri.replace(nosuchfield=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": "exa mple.com"},
        {"host": "example.com\r\nX: y"},
        {"host": "[::zz]"},
        {"host": "example.com", "port": 70000},
        {"host": "example.com", "port": -1},
        {"host": "example.com", "scheme": "tel"},
        {"host": "example.com", "headers": (("Subject", "a b"),)},
        {"host": "example.com", "headers": (("Sub\r\nject", "x"),)},
        {"host": "example.com", "params": {"transport": "tcp"}},
    ],
)
def test_build_sip_uri_refuses_bad_fields(kwargs):
    with pytest.raises(SIPUsageError):
        SipURI(**kwargs)


@pytest.mark.parametrize(
    "items",
    [
        [("bad name", "x")],
        [("name", "a b")],
        [("name", "a\r\nb")],
        [("na;me", "x")],
        [("name", '"unterminated')],
    ],
)
def test_params_refuse_bad_items(items):
    with pytest.raises(SIPUsageError):
        Params(items)


def test_params_with_param_quotes_non_token_values():
    p = Params([("a", "1")]).with_param("note", "hello world")
    assert str(p) == ';a=1;note="hello world"'
    assert p.get("note") == "hello world"
    assert p.raw("note") == '"hello world"'
    assert str(p.without("A")) == ';note="hello world"'


def test_tel_uri_build_refuses_bad_number():
    with pytest.raises(SIPUsageError):
        TelURI("12 34")
    assert str(TelURI("+1234")) == "tel:+1234"


def test_absolute_uri_build_refuses_bad_text():
    with pytest.raises(SIPUsageError):
        AbsoluteURI("http", "a b")
    with pytest.raises(SIPUsageError):
        AbsoluteURI("http", "a\r\nb")
