"""Datagram parsing, start lines, the RFC 4475 and RFC 5118 torture tests,
limits, byte-exact round trips, builders and local validation."""

from __future__ import annotations

import pytest

from sipstack.errors import (
    BodyTooLarge,
    MessageTooLarge,
    SIPParseError,
    SIPUsageError,
    TooManyHeaders,
    URITooLong,
    VersionNotSupported,
)
from sipstack.message import (
    AbsoluteURI,
    Limits,
    Request,
    Response,
    SipURI,
    make_request,
    make_response,
    new_branch,
    new_call_id,
    new_tag,
    parse,
    parse_uri,
)

# ---------------------------------------------------------------------------
# SDP bodies of the RFC 4475 messages (lengths as the RFC's Content-Length)
# ---------------------------------------------------------------------------

SDP_150 = (  # wsinv
    b"v=0\r\n"
    b"o=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.4\r\n"
    b"t=0 0\r\n"
    b"m=audio 49217 RTP/AVP 0 12\r\n"
    b"m=video 3227 RTP/AVP 31\r\n"
    b"a=rtpmap:31 LPC\r\n"
)
SDP_150_1 = (  # esc01, longreq, lwsstart, escruri
    b"v=0\r\n"
    b"o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.1\r\n"
    b"t=0 0\r\n"
    b"m=audio 49217 RTP/AVP 0 12\r\n"
    b"m=video 3227 RTP/AVP 31\r\n"
    b"a=rtpmap:31 LPC\r\n"
)
SDP_150_5 = SDP_150_1.replace(b"192.0.2.1", b"192.0.2.5")  # baddate, sdp01
SDP_152_15 = SDP_150_1.replace(b"192.0.2.1", b"192.0.2.15")  # badinv01, quotbal
SDP_154_198 = SDP_150_1.replace(b"192.0.2.1", b"192.0.2.198")  # unreason, bcast
SDP_154_155 = SDP_150_1.replace(b"192.0.2.1", b"192.0.2.155")  # clerr
SDP_152_53 = SDP_150_1.replace(b"192.0.2.1", b"192.0.2.53")  # ncl
SDP_152_95 = SDP_150_1.replace(b"192.0.2.1", b"192.0.2.95")  # insuf
SDP_159_5 = SDP_150_5.replace(b"t=0 0", b"t=3149328700 0")  # ltgtruri
SDP_159_1 = SDP_150_1.replace(b"t=0 0", b"t=3149328700 0")  # lwsruri


def test_sdp_body_lengths():
    assert [len(b) for b in (SDP_150, SDP_150_1, SDP_150_5, SDP_152_15, SDP_154_198, SDP_154_155, SDP_152_53, SDP_152_95, SDP_159_5, SDP_159_1)] == [
        150, 150, 150, 152, 154, 154, 152, 152, 159, 159,
    ]  # fmt: skip


# ---------------------------------------------------------------------------
# RFC 4475 §3.1.1 Valid messages
# ---------------------------------------------------------------------------

WSINV = (  # §3.1.1.1 A Short Tortuous INVITE
    b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
    b"TO :\r\n"
    b" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
    b'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n'
    b"  ;\r\n"
    b"  tag = 98asjd8\r\n"
    b"MaX-fOrWaRdS: 0068\r\n"
    b"Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
    b"Content-Length   : 150\r\n"
    b"cseq: 0009\r\n"
    b"  INVITE\r\n"
    b"Via  : SIP  /   2.0\r\n"
    b" /UDP\r\n"
    b"    192.0.2.2;rport;branch=390skdjuw\r\n"
    b"s :\r\n"
    b"NewFangledHeader:   newfangled value\r\n"
    b" continued newfangled value\r\n"
    b"UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Route:\r\n"
    b" <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
    b"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
    b"  branch  =   z9hG4bK9ikj8  ,\r\n"
    b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
    b" z9hG4bK30239\r\n"
    b'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\r\n'
    b"      newvalue ;\r\n"
    b"  secondparam ; q = 0.33\r\n"
    b"\r\n" + SDP_150
)

INTMETH_TO = b'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*@example.com>\r\n'
INTMETH = (  # §3.1.1.2 Wide Range of Valid Characters
    b"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
    + INTMETH_TO
    + "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439\";tag=_token~1'+`*%!-.\r\n".encode()
    + b"Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
    b"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
    b"Max-Forwards: 255\r\n"
    + "extensionHeader-!.%*+_`'~:\ufeff\u5927\u505c\u96fb\r\n".encode()
    + b"Content-Length: 0\r\n"
    b"\r\n"
)

ESC01 = (  # §3.1.1.3 Valid Use of the % Escaping Mechanism
    b"INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\n"
    b"To: sip:%75se%72@example.com\r\n"
    b"From: <sip:I%20have%20spaces@example.net>;tag=938\r\n"
    b"Max-Forwards: 87\r\n"
    b"i: esc01.239409asdfakjkn23onasd0-3234\r\n"
    b"CSeq: 234234 INVITE\r\n"
    b"Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\r\n"
    b"C: application/sdp\r\n"
    b"Contact:\r\n"
    b"  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\r\n"
    b"Content-Length: 150\r\n"
    b"\r\n" + SDP_150_1
)

ESCNULL = (  # §3.1.1.4 Escaped Nulls in URIs
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"To: sip:null-%00-null@example.com\r\n"
    b"From: sip:null-%00-null@example.com;tag=839923423\r\n"
    b"Max-Forwards: 70\r\n"
    b"Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\r\n"
    b"CSeq: 14398234 REGISTER\r\n"
    b"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n"
    b"Contact: <sip:%00@host5.example.com>\r\n"
    b"Contact: <sip:%00%00@host5.example.com>\r\n"
    b"L:0\r\n"
    b"\r\n"
)

ESC02 = (  # §3.1.1.5 Use of % When It Is Not an Escape
    b"RE%47IST%45R sip:registrar.example.com SIP/2.0\r\n"
    b'To: "%Z%45" <sip:resource@example.com>\r\n'
    b'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23\r\n'
    b"Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\r\n"
    b"Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234\r\n"
    b"CSeq: 29344 RE%47IST%45R\r\n"
    b"Max-Forwards: 70\r\n"
    b"Contact: <sip:alias1@host1.example.com>\r\n"
    b"C%6Fntact: <sip:alias2@host2.example.com>\r\n"
    b"Contact: <sip:alias3@host3.example.com>\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

LWSDISP = (  # §3.1.1.6 Message with No LWS between Display Name and <
    b"OPTIONS sip:user@example.com SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: caller<sip:caller@example.com>;tag=323\r\n"
    b"Max-Forwards: 70\r\n"
    b"Call-ID: lwsdisp.1234abcd@funky.example.com\r\n"
    b"CSeq: 60 OPTIONS\r\n"
    b"Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

_LONG_VIAS = b"".join(
    name + b"SIP/2.0/TCP sip%d.example.com\r\n" % n
    for name, n in zip(
        [b"Via: ", b"v: ", b"V: ", b"Via: ", b"ViA: ", b"VIa: ", b"VIA: ", b"via: ", b"viA: ", b"vIa: ", b"vIA: ",
         b"V :  ", b"v :  ", b"V  : ", b"v  : ", b"Via : ", b"Via  : "] + [b"Via: "] * 16,
        range(33, 0, -1),
        strict=True,
    )
)  # fmt: skip
LONGREQ = (  # §3.1.1.7 Long Values in Header Fields
    b"INVITE sip:user@example.com SIP/2.0\r\n"
    b'To: "I have a user name of '
    + b"extreme" * 10
    + b' proportion"<sip:user@example.com:6000;unknownparam1=very'
    + b"long" * 20
    + b"value;longparam"
    + b"name" * 25
    + b"=shortvalue;very"
    + b"long" * 25
    + b"ParameterNameWithNoValue>\r\n"
    b"F: sip:"
    + b"amazinglylongcallername" * 5
    + b"@example.net;tag=12"
    + b"982" * 50
    + b"424;unknownheaderparam"
    + b"name" * 20
    + b"=unknowheaderparam"
    + b"value" * 15
    + b";unknownValueless"
    + b"paramname" * 10
    + b"\r\n"
    b"Call-ID: longreq.one" + b"really" * 20 + b"longcallid\r\n"
    b"CSeq: 3882340 INVITE\r\n"
    b"Unknown-"
    + b"Long" * 20
    + b"-Name: unknown-"
    + b"long" * 20
    + b"-value; unknown-"
    + b"long" * 20
    + b"-parameter-name = unknown-"
    + b"long" * 20
    + b"-parameter-value\r\n"
    + _LONG_VIAS
    + b"Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very"
    + b"long" * 50
    + b"branchvalue\r\n"
    b"Max-Forwards: 70\r\n"
    b"Contact: <sip:" + b"amazinglylongcallername" * 5 + b"@host5.example.net>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"l: 150\r\n"
    b"\r\n" + SDP_150_1
)

DBLREQ_REGISTER = (  # §3.1.1.8 Extra Trailing Octets in a UDP Datagram
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"To: sip:j.user@example.com\r\n"
    b"From: sip:j.user@example.com;tag=43251j3j324\r\n"
    b"Max-Forwards: 8\r\n"
    b"I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\r\n"
    b"Contact: sip:j.user@host.example.com\r\n"
    b"CSeq: 8 REGISTER\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)
DBLREQ = DBLREQ_REGISTER + (
    b"INVITE sip:joe@example.com SIP/2.0\r\n"
    b"t: sip:joe@example.com\r\n"
    b"From: sip:caller@example.net;tag=141334\r\n"
    b"Max-Forwards: 8\r\n"
    b"Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\r\n"
    b"CSeq: 8 INVITE\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 150\r\n"
    b"\r\n" + SDP_152_15.replace(b"m=video", b"m =video")
)

SEMIURI = (  # §3.1.1.9 Semicolon-Separated Parameters in URI User Part
    b"OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\n"
    b"To: sip:j_user@example.com\r\n"
    b"From: sip:caller@example.org;tag=33242\r\n"
    b"Max-Forwards: 3\r\n"
    b"Call-ID: semiuri.0ha0isndaksdj\r\n"
    b"CSeq: 8 OPTIONS\r\n"
    b"Accept: application/sdp, application/pkcs7-mime,\r\n"
    b"        multipart/mixed, multipart/signed,\r\n"
    b"        message/sip, message/sipfrag\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

TRANSPORTS = (  # §3.1.1.10 Varied and Unknown Transport Types
    b"OPTIONS sip:user@example.com SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: <sip:caller@example.com>;tag=323\r\n"
    b"Max-Forwards: 70\r\n"
    b"Call-ID:  transports.kijh4akdnaqjkwendsasfdj\r\n"
    b"Accept: application/sdp\r\n"
    b"CSeq: 60 OPTIONS\r\n"
    b"Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\r\n"
    b"Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\r\n"
    b"Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\r\n"
    b"Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\r\n"
    b"Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

MPART01_BODY = (
    b"--7a9cbec02ceef655\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n"
    b"Hello\r\n"
    b"--7a9cbec02ceef655\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"\r\n"
    b"0\x82\x02R\x06\t*\x86H\x86\xf7\r\x01\x07\x02\xa0\x82\x02C0\x82\x02?\x02\x01\x011\t0\x07\x06\x05+\x0e\x03\x02\x1a0\x0b"
    b"\x06\t*\x86H\x86\xf7\r\x01\x07\x01\x00\x00\x00\r\n\r\n\xff\xfe\x00\x01\x80\x81"
    b"\r\n"
    b"--7a9cbec02ceef655--\r\n"
)
MPART01 = (  # §3.1.1.11 Multipart MIME Message (the binary part's bytes are illustrative)
    b"MESSAGE sip:kumiko@example.org SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"Route: <sip:127.0.0.1:5080>\r\n"
    b"Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=\r\n"
    b"Contact: <sip:fluffy@127.0.0.1:5070>\r\n"
    b"To: <sip:kumiko@example.org>\r\n"
    b"From: <sip:fluffy@example.com>;tag=2fb0dcc9\r\n"
    b"Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..\r\n"
    b"CSeq: 1 MESSAGE\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"Content-Type: multipart/mixed;boundary=7a9cbec02ceef655\r\n"
    b"Date: Sat, 15 Oct 2005 04:44:56 GMT\r\n"
    b"User-Agent: SIPimp.org/0.2.5 (curses)\r\n"
    b"Content-Length: %d\r\n"
    b"\r\n" % len(MPART01_BODY)
) + MPART01_BODY

UNREASON_PHRASE = "= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435"
UNREASON = (  # §3.1.1.12 Unusual Reason Phrase
    b"SIP/2.0 200 " + UNREASON_PHRASE.encode() + b"\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\n"
    b"Call-ID: unreason.1234ksdfak3j2erwedfsASdf\r\n"
    b"CSeq: 35 INVITE\r\n"
    b"From: sip:user@example.com;tag=11141343\r\n"
    b"To: sip:user@example.edu;tag=2229\r\n"
    b"Content-Length: 154\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Contact: <sip:user@host198.example.com>\r\n"
    b"\r\n" + SDP_154_198
)

NOREASON = (  # §3.1.1.13 Empty Reason Phrase
    b"SIP/2.0 100 \r\n"
    b"Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\n"
    b"Call-ID: noreason.asndj203insdf99223ndf\r\n"
    b"CSeq: 35 INVITE\r\n"
    b"From: <sip:user@example.com>;tag=39ansfi3\r\n"
    b"To: <sip:user@example.edu>;tag=902jndnke3\r\n"
    b"Content-Length: 0\r\n"
    b"Contact: <sip:user@host105.example.com>\r\n"
    b"\r\n"
)

VALID = {
    "3.1.1.1-wsinv": WSINV,
    "3.1.1.3-esc01": ESC01,
    "3.1.1.4-escnull": ESCNULL,
    "3.1.1.5-esc02": ESC02,
    "3.1.1.6-lwsdisp": LWSDISP,
    "3.1.1.7-longreq": LONGREQ,
    "3.1.1.9-semiuri": SEMIURI,
    "3.1.1.10-transports": TRANSPORTS,
    "3.1.1.11-mpart01": MPART01,
    "3.1.1.12-unreason": UNREASON,
    "3.1.1.13-noreason": NOREASON,
}


@pytest.mark.parametrize("data", list(VALID.values()), ids=list(VALID))
def test_rfc4475_valid_parse_validate_round_trip(data):
    msg = parse(data)
    assert msg.validate() is msg
    assert bytes(msg) == data
    assert msg.serialize() == data
    # the typed views every element needs all work
    assert msg.top_via.host
    assert msg.cseq.seq >= 0
    assert msg.call_id
    assert msg.from_addr.uri is not None
    assert msg.to_addr.uri is not None


def test_rfc4475_3_1_1_2_intmeth():
    msg = parse(INTMETH)
    msg.validate()
    assert msg.to_addr.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert bytes(msg) == INTMETH


def test_rfc4475_3_1_1_2_intmeth_without_control_characters():
    # The rest of intmeth, with a To header that has no escaped controls.
    data = INTMETH.replace(
        INTMETH_TO,
        b'To: "BEL: NUL: DEL:" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*@example.com>\r\n',
    )
    msg = parse(data)
    msg.validate()
    assert bytes(msg) == data
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert msg.cseq.method == msg.method
    uri = msg.uri
    assert isinstance(uri, SipURI)
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert uri.host == "example.com"
    assert msg.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert msg.to_addr.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    frm = msg.from_addr
    assert frm.display_name == "token1~` token2'+_ token3*%!.-"
    assert frm.tag == "_token~1'+`*%!-."
    assert (
        frm.params.get("fromParam''~+*_!.-%")
        == "\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439"
    )
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert msg.max_forwards == 255
    assert msg.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff\u5927\u505c\u96fb"


def test_rfc4475_3_1_1_1_wsinv_details():
    msg = parse(WSINV)
    assert msg.method == "INVITE"
    assert msg.uri_text == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert "unknownparam" in msg.uri.params
    assert msg.to_addr.tag == "1918181833n"
    assert str(msg.to_addr.uri) == "sip:vivekg@chair-dnrc.example.com"
    assert msg.from_addr.display_name == 'J Rosenberg \\"'
    assert msg.from_addr.tag == "98asjd8"
    assert msg.max_forwards == 68
    assert msg.cseq.seq == 9
    assert msg.cseq.method == "INVITE"
    assert msg.content_length == 150
    assert msg.body == SDP_150
    vias = msg.vias
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert vias[0].rport_requested and vias[0].rport is None
    assert not vias[0].has_magic_cookie
    assert msg.headers.get("Subject") == ""
    assert msg.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert msg.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert msg.content_type.mime == "application/sdp"
    route = msg.routes[0].uri
    assert (
        route.lr
        and route.params.get("unknownwith") == "value"
        and "unknown-no-value" in route.params
    )
    (contact,) = msg.contacts
    assert contact.display_name == 'Quoted string ""'
    assert contact.params.get("newparam") == "newvalue"
    assert "secondparam" in contact.params
    assert contact.q == 0.33


def test_rfc4475_3_1_1_3_esc01_details():
    msg = parse(ESC01)
    assert msg.uri.user == "sips:user@example.com"
    assert msg.uri.host == "example.net"
    assert msg.to_addr.uri.user == "user"
    assert msg.to_addr.uri == parse_uri("sip:user@example.com")
    assert msg.from_addr.uri.user == "I have spaces"
    (contact,) = msg.contacts
    assert contact.uri.user == "caller"
    assert contact.uri.params.names() == ["%6C%72", "n%61me"]


def test_rfc4475_3_1_1_4_escnull_details():
    msg = parse(ESCNULL)
    assert msg.to_addr.uri.user == "null-\x00-null"
    assert msg.from_addr.uri == msg.to_addr.uri
    users = [c.uri.user for c in msg.contacts]
    assert users == ["\x00", "\x00\x00"]
    assert msg.contacts[0].uri != msg.contacts[1].uri


def test_rfc4475_3_1_1_5_esc02_details():
    msg = parse(ESC02)
    assert msg.method == "RE%47IST%45R"  # not REGISTER
    assert msg.method != "REGISTER"
    assert msg.to_addr.display_name == "%Z%45"
    assert msg.from_addr.display_name == "%Z%45"
    assert [str(c.uri) for c in msg.contacts] == [
        "sip:alias1@host1.example.com",
        "sip:alias3@host3.example.com",
    ]
    assert msg.top_via.branch == "z9hG4bK209%fzsnel234"


def test_rfc4475_3_1_1_6_lwsdisp_details():
    msg = parse(LWSDISP)
    assert msg.from_addr.display_name == "caller"
    assert msg.from_addr.tag == "323"


def test_rfc4475_3_1_1_7_longreq_details():
    msg = parse(LONGREQ)
    assert msg.to_addr.display_name == "I have a user name of " + "extreme" * 10 + " proportion"
    assert msg.to_addr.uri.port == 6000
    assert msg.to_addr.uri.params.get("unknownparam1") == "very" + "long" * 20 + "value"
    assert msg.from_addr.tag == "12" + "982" * 50 + "424"
    assert msg.call_id == "longreq.one" + "really" * 20 + "longcallid"
    vias = msg.vias
    assert len(vias) == 34
    assert [v.host for v in vias[:33]] == [f"sip{n}.example.com" for n in range(33, 0, -1)]
    assert vias[33].received == "192.0.2.5"
    assert vias[33].branch == "very" + "long" * 50 + "branchvalue"
    assert msg.headers.get("Unknown-" + "Long" * 20 + "-Name").startswith("unknown-long")


def test_rfc4475_3_1_1_8_dblreq_trailing_octets_ignored():
    msg = parse(DBLREQ)
    assert msg.method == "REGISTER"
    assert msg.body == b""
    assert bytes(msg) == DBLREQ_REGISTER  # the INVITE octets are not forwarded
    msg.validate()
    assert msg.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"
    assert str(msg.contacts[0].uri) == "sip:j.user@host.example.com"


def test_rfc4475_3_1_1_9_semiuri_details():
    msg = parse(SEMIURI)
    assert msg.uri.user == "user;par=u@example.net"
    assert msg.uri.host == "example.com"
    assert len(msg.uri.params) == 0
    assert msg.headers.get_list("Accept") == [
        "application/sdp", "application/pkcs7-mime", "multipart/mixed",
        "multipart/signed", "message/sip", "message/sipfrag",
    ]  # fmt: skip


def test_rfc4475_3_1_1_10_transports_details():
    msg = parse(TRANSPORTS)
    assert [v.transport for v in msg.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert msg.call_id == "transports.kijh4akdnaqjkwendsasfdj"


def test_rfc4475_3_1_1_11_mpart01_binary_body():
    msg = parse(MPART01)
    assert msg.body == MPART01_BODY
    assert b"\x00" in msg.body
    assert msg.content_type.params.get("boundary") == "7a9cbec02ceef655"
    assert msg.top_via.port == 5070 and msg.top_via.rport_requested
    assert msg.date.year == 2005
    assert msg.routes[0].uri.port == 5080


def test_rfc4475_3_1_1_12_unreason_details():
    msg = parse(UNREASON)
    assert isinstance(msg, Response)
    assert msg.status == 200
    assert msg.reason == UNREASON_PHRASE


def test_rfc4475_3_1_1_13_noreason_details():
    msg = parse(NOREASON)
    assert msg.status == 100
    assert msg.reason == ""
    assert msg.start_line == "SIP/2.0 100 "


# ---------------------------------------------------------------------------
# RFC 4475 §3.1.2 Invalid messages
# ---------------------------------------------------------------------------

BADINV01 = (  # §3.1.2.1 Extraneous Header Field Separators
    b"INVITE sip:user@example.com SIP/2.0\r\n"
    b"To: sip:j.user@example.com\r\n"
    b"From: sip:caller@example.net;tag=134161461246\r\n"
    b"Max-Forwards: 7\r\n"
    b"Call-ID: badinv01.0ha0isndaksdjasdf3234nas\r\n"
    b"CSeq: 8 INVITE\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n"
    b'Contact: "Joe" <sip:joe@example.org>;;;;\r\n'
    b"Content-Length: 152\r\n"
    b"Content-Type: application/sdp\r\n"
    b"\r\n" + SDP_152_15
)

CLERR = (  # §3.1.2.2 Content Length Larger Than Message
    b"INVITE sip:user@example.com SIP/2.0\r\n"
    b"Max-Forwards: 80\r\n"
    b"To: sip:j.user@example.com\r\n"
    b"From: sip:caller@example.net;tag=93942939o2\r\n"
    b"Contact: <sip:caller@hungry.example.net>\r\n"
    b"Call-ID: clerr.0ha0isndaksdjweiafasdk3\r\n"
    b"CSeq: 8 INVITE\r\n"
    b"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 9999\r\n"
    b"\r\n" + SDP_154_155
)

NCL = (  # §3.1.2.3 Negative Content-Length
    b"INVITE sip:user@example.com SIP/2.0\r\n"
    b"Max-Forwards: 254\r\n"
    b"To: sip:j.user@example.com\r\n"
    b"From: sip:caller@example.net;tag=32394234\r\n"
    b"Call-ID: ncl.0ha0isndaksdj2193423r542w35\r\n"
    b"CSeq: 0 INVITE\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw\r\n"
    b"Contact: <sip:caller@example53.example.net>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: -999\r\n"
    b"\r\n" + SDP_152_53
)

SCALAR02 = (  # §3.1.2.4 Request Scalar Fields with Overlarge Values
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\r\n"
    b"To: <sip:user@example.com>\r\n"
    b"From: <sip:user@example.com>;tag=239232jh3\r\n"
    b"CSeq: 36893488147419103232 REGISTER\r\n"
    b"Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\r\n"
    b"Max-Forwards: 300\r\n"
    b"Expires: 1" + b"0" * 100 + b"\r\n"
    b"Contact: <sip:user@host129.example.com>\r\n"
    b"  ;expires=280297596632815\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

SCALARLG = (  # §3.1.2.5 Response Scalar Fields with Overlarge Values
    b"SIP/2.0 503 Service Unavailable\r\n"
    b"Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129\r\n"
    b"To: <sip:user@example.com>\r\n"
    b"From: <sip:other@example.net>;tag=2easdjfejw\r\n"
    b"CSeq: 9292394834772304023312 OPTIONS\r\n"
    b"Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r\r\n"
    b"Retry-After: 949302838503028349304023988\r\n"
    b'Warning: 1812 overture "In Progress"\r\n'
    b"Content-Length: 0\r\n"
    b"\r\n"
)

QUOTBAL = (  # §3.1.2.6 Unterminated Quoted String in Display Name
    b"INVITE sip:user@example.com SIP/2.0\r\n"
    b'To: "Mr. J. User <sip:j.user@example.com>\r\n'
    b"From: sip:caller@example.net;tag=93334\r\n"
    b"Max-Forwards: 10\r\n"
    b"Call-ID: quotbal.aksdj\r\n"
    b"Contact: <sip:caller@host59.example.net>\r\n"
    b"CSeq: 8 INVITE\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 152\r\n"
    b"\r\n" + SDP_152_15
)

LTGTRURI = (  # §3.1.2.7 <> Enclosing Request-URI
    b"INVITE <sip:user@example.com> SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:caller@example.net;tag=39291\r\n"
    b"Max-Forwards: 23\r\n"
    b"Call-ID: ltgtruri.1@192.0.2.5\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.5\r\n"
    b"Contact: <sip:caller@host5.example.net>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 159\r\n"
    b"\r\n" + SDP_159_5
)

LWSRURI = (  # §3.1.2.8 Malformed SIP Request-URI (embedded LWS)
    b"INVITE sip:user@example.com; lr SIP/2.0\r\n"
    b"To: sip:user@example.com;tag=3xfe-9921883-z9f\r\n"
    b"From: sip:caller@example.net;tag=231413434\r\n"
    b"Max-Forwards: 5\r\n"
    b"Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423\r\n"
    b"CSeq: 2130706432 INVITE\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395\r\n"
    b"Contact: <sip:caller@host1.example.net>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 159\r\n"
    b"\r\n" + SDP_159_1
)

LWSSTART = (  # §3.1.2.9 Multiple SP Separating Request-Line Elements
    b"INVITE  sip:user@example.com  SIP/2.0\r\n"
    b"Max-Forwards: 8\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:caller@example.net;tag=8814\r\n"
    b"Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com\r\n"
    b"CSeq: 1893884 INVITE\r\n"
    b"Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923\r\n"
    b"Contact: <sip:caller@host1.example.net>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 150\r\n"
    b"\r\n" + SDP_150_1
)

TRWS = (  # §3.1.2.10 SP Characters at End of Request-Line
    b"OPTIONS sip:remote-target@example.com SIP/2.0  \r\n"
    b"Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093\r\n"
    b"To: <sip:remote-target@example.com>\r\n"
    b"From: <sip:local-resource@example.com>;tag=329429089\r\n"
    b"Call-ID: trws.oicu34958239neffasdhr2345r\r\n"
    b"Accept: application/sdp\r\n"
    b"CSeq: 238923 OPTIONS\r\n"
    b"Max-Forwards: 70\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

ESCRURI = (  # §3.1.2.11 Escaped Headers in SIP Request-URI
    b"INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:caller@example.net;tag=341518\r\n"
    b"Max-Forwards: 7\r\n"
    b"Contact: <sip:caller@host39923.example.net>\r\n"
    b"Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5\r\n"
    b"CSeq: 149209342 INVITE\r\n"
    b"Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 150\r\n"
    b"\r\n" + SDP_150_1
)

BADDATE = (  # §3.1.2.12 Invalid Time Zone in Date Header Field
    b"INVITE sip:user@example.com SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:caller@example.net;tag=2234923\r\n"
    b"Max-Forwards: 70\r\n"
    b"Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234\r\n"
    b"CSeq: 1392934 INVITE\r\n"
    b"Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n"
    b"Date: Fri, 01 Jan 2010 16:00:00 EST\r\n"
    b"Contact: <sip:caller@host5.example.net>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 150\r\n"
    b"\r\n" + SDP_150_5
)

REGBADCT = (  # §3.1.2.13 Failure to Enclose name-addr URI in <>
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:user@example.com;tag=998332\r\n"
    b"Max-Forwards: 70\r\n"
    b"Call-ID: regbadct.k345asrl3fdbv@10.0.0.1\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw\r\n"
    b"Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

BADASPEC = (  # §3.1.2.14 Spaces within addr-spec
    b"OPTIONS sip:user@example.org SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423\r\n'
    b'To: "Watson, Thomas" < sip:t.watson@example.org >\r\n'
    b"Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3\r\n"
    b"Accept: application/sdp\r\n"
    b"CSeq: 3923239 OPTIONS\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

BADDN = (  # §3.1.2.15 Non-token Characters in Display Name
    b"OPTIONS sip:t.watson@example.org SIP/2.0\r\n"
    b"Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw\r\n"
    b"Max-Forwards:      70\r\n"
    b"From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43\r\n"
    b"To:      Watson, Thomas <sip:t.watson@example.org>\r\n"
    b"Call-ID: baddn.31415@c.example.com\r\n"
    b"Accept: application/sdp\r\n"
    b"CSeq:    3923239 OPTIONS\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

BADVERS = (  # §3.1.2.16 Unknown Protocol Version
    b"OPTIONS sip:t.watson@example.org SIP/7.0\r\n"
    b"Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\n"
    b"Max-Forwards:     70\r\n"
    b"From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\r\n"
    b"To:      T. Watson <sip:t.watson@example.org>\r\n"
    b"Call-ID: badvers.31417@c.example.com\r\n"
    b"CSeq:    1 OPTIONS\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

MISMATCH01 = (  # §3.1.2.17 Start Line and CSeq Method Mismatch
    b"OPTIONS sip:user@example.com SIP/2.0\r\n"
    b"To: sip:j.user@example.com\r\n"
    b"From: sip:caller@example.net;tag=34525\r\n"
    b"Max-Forwards: 6\r\n"
    b"Call-ID: mismatch01.dj0234sxdfl3\r\n"
    b"CSeq: 8 INVITE\r\n"
    b"Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

MISMATCH02 = (  # §3.1.2.18 Unknown Method with CSeq Method Mismatch
    b"NEWMETHOD sip:user@example.com SIP/2.0\r\n"
    b"To: sip:j.user@example.com\r\n"
    b"From: sip:caller@example.net;tag=34525\r\n"
    b"Max-Forwards: 6\r\n"
    b"Call-ID: mismatch02.dj0234sxdfl3\r\n"
    b"CSeq: 8 INVITE\r\n"
    b"Contact: <sip:caller@host.example.net>\r\n"
    b"Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw\r\n"
    b"Content-Type: application/sdp\r\n"
    b"l: 138\r\n"
    b"\r\n"
    b"v=0\r\n"
    b"o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n"
    b"c=IN IP4 192.0.2.1\r\n"
    b"m=audio 49217 RTP/AVP 0 12\r\n"
    b"m=video 3227 RTP/AVP 31\r\n"
    b"a=rtpmap:31 LPC\r\n"
)

BIGCODE = (  # §3.1.2.19 Overlarge Response Code
    b"SIP/2.0 4294967301 better not break the receiver\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\n"
    b"Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i\r\n"
    b"CSeq: 353494 INVITE\r\n"
    b"From: <sip:user@example.com>;tag=39ansfi3\r\n"
    b"To: <sip:user@example.edu>;tag=902jndnke3\r\n"
    b"Content-Length: 0\r\n"
    b"Contact: <sip:user@host105.example.com>\r\n"
    b"\r\n"
)

INVALID = {
    "3.1.2.1-badinv01": (BADINV01, 400),
    "3.1.2.2-clerr": (CLERR, 400),
    "3.1.2.3-ncl": (NCL, 400),
    "3.1.2.4-scalar02": (SCALAR02, 400),
    "3.1.2.5-scalarlg": (SCALARLG, 400),
    "3.1.2.6-quotbal": (QUOTBAL, 400),
    "3.1.2.7-ltgtruri": (LTGTRURI, 400),
    "3.1.2.8-lwsruri": (LWSRURI, 400),
    "3.1.2.9-lwsstart": (LWSSTART, 400),
    "3.1.2.10-trws": (TRWS, 400),
    "3.1.2.12-baddate": (BADDATE, 400),
    "3.1.2.13-regbadct": (REGBADCT, 400),
    "3.1.2.14-badaspec": (BADASPEC, 400),
    "3.1.2.15-baddn": (BADDN, 400),
    "3.1.2.16-badvers": (BADVERS, 505),
    "3.1.2.17-mismatch01": (MISMATCH01, 400),
    "3.1.2.18-mismatch02": (MISMATCH02, 400),
    "3.1.2.19-bigcode": (BIGCODE, 400),
}


def parse_and_validate(data: bytes):
    return parse(data).validate()


@pytest.mark.parametrize(("data", "status"), list(INVALID.values()), ids=list(INVALID))
def test_rfc4475_invalid(data, status):
    with pytest.raises(SIPParseError) as info:
        parse_and_validate(data)
    assert info.value.status == status


def test_rfc4475_3_1_2_11_escruri():
    # RFC 3261 §19.1.1 (table 1): headers are not allowed in a Request-URI.
    msg = parse(ESCRURI)
    with pytest.raises(SIPParseError) as info:
        msg.validate()
    assert info.value.status == 400


@pytest.mark.parametrize(
    "data",
    [CLERR, NCL, LTGTRURI, LWSRURI, LWSSTART, TRWS, BADVERS, BIGCODE],
    ids=["clerr", "ncl", "ltgtruri", "lwsruri", "lwsstart", "trws", "badvers", "bigcode"],
)
def test_rfc4475_framing_errors_found_by_parse(data):
    # Framing and start-line errors must be found before the message is used.
    with pytest.raises(SIPParseError):
        parse(data)


def test_rfc4475_badvers_is_version_not_supported():
    with pytest.raises(VersionNotSupported) as info:
        parse(BADVERS)
    assert info.value.status == 505
    assert info.value.reason == "Version Not Supported"


@pytest.mark.parametrize(
    "data",
    [
        BADINV01,
        QUOTBAL,
        BADDATE,
        REGBADCT,
        BADASPEC,
        BADDN,
        MISMATCH01,
        MISMATCH02,
        SCALAR02,
        SCALARLG,
    ],
    ids=[
        "badinv01",
        "quotbal",
        "baddate",
        "regbadct",
        "badaspec",
        "baddn",
        "mismatch01",
        "mismatch02",
        "scalar02",
        "scalarlg",
    ],
)
def test_rfc4475_header_errors_are_lazy(data):
    # Parsers "must not break": the message frames and the untouched bytes
    # can still be read back; the error appears when the value is used.
    msg = parse(data)
    assert bytes(msg) == data
    with pytest.raises(SIPParseError):
        msg.validate()


def test_rfc4475_scalar02_fields():
    msg = parse(SCALAR02)
    with pytest.raises(SIPParseError):
        _ = msg.cseq
    with pytest.raises(SIPParseError):
        _ = msg.max_forwards
    assert msg.expires == 2**32 - 1  # lenient choice: clamped
    # the overlarge contact expires is not passed on as it is (lenient choice)
    expires = msg.contacts[0].expires
    assert expires is None or expires <= 2**32 - 1


# ---------------------------------------------------------------------------
# RFC 4475 §3.2 / §3.3 / §3.4 semantics tests (parser-visible parts)
# ---------------------------------------------------------------------------

BADBRANCH = (  # §3.2.1 Missing Transaction Identifier
    b"OPTIONS sip:user@example.com SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:caller@example.org;tag=33242\r\n"
    b"Max-Forwards: 3\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\r\n"
    b"Accept: application/sdp\r\n"
    b"Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n\r\n"
    b"CSeq: 8 OPTIONS\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

INSUF = (  # §3.3.1 Missing Required Header Fields
    b"INVITE sip:user@example.com SIP/2.0\r\n"
    b"CSeq: 193942 INVITE\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n"
    b"Content-Type: application/sdp\r\n"
    b"l: 152\r\n"
    b"\r\n" + SDP_152_95
)

UNKSCM = (  # §3.3.2 Request-URI with Unknown Scheme
    b"OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:caller@example.net;tag=384\r\n"
    b"Max-Forwards: 3\r\n"
    b"Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34\r\n"
    b"CSeq: 3923423 OPTIONS\r\n"
    b"Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

NOVELSC = (  # §3.3.3 Request-URI with Known but Atypical Scheme
    b"OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:caller@example.net;tag=384\r\n"
    b"Max-Forwards: 3\r\n"
    b"Call-ID: novelsc.asdfasser0q239nwsdfasdkl34\r\n"
    b"CSeq: 3923423 OPTIONS\r\n"
    b"Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

UNKSM2 = (  # §3.3.4 Unknown URI Schemes in Header Fields
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"To: isbn:2983792873\r\n"
    b"From: <http://www.example.com>;tag=3234233\r\n"
    b"Call-ID: unksm2.daksdj@hyphenated-host.example.com\r\n"
    b"CSeq: 234902 REGISTER\r\n"
    b"Max-Forwards: 70\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\r\n"
    b"Contact: <name:John_Smith>\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

BEXT01 = (  # §3.3.5 Proxy-Require and Require
    b"OPTIONS sip:user@example.com SIP/2.0\r\n"
    b"To: sip:j_user@example.com\r\n"
    b"From: sip:caller@example.net;tag=242etr\r\n"
    b"Max-Forwards: 6\r\n"
    b"Call-ID: bext01.0ha0isndaksdj\r\n"
    b"Require: nothingSupportsThis, nothingSupportsThisEither\r\n"
    b"Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis\r\n"
    b"CSeq: 8 OPTIONS\r\n"
    b"Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

INVUT = (  # §3.3.6 Unknown Content-Type
    b"INVITE sip:user@example.com SIP/2.0\r\n"
    b"Contact: <sip:caller@host5.example.net>\r\n"
    b"To: sip:j.user@example.com\r\n"
    b"From: sip:caller@example.net;tag=8392034\r\n"
    b"Max-Forwards: 70\r\n"
    b"Call-ID: invut.0ha0isndaksdjadsfij34n23d\r\n"
    b"CSeq: 235448 INVITE\r\n"
    b"Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw\r\n"
    b"Content-Type: application/unknownformat\r\n"
    b"Content-Length: 40\r\n"
    b"\r\n"
    b"<audio>\r\n"
    b' <pcmu port="443"/>\r\n'
    b"</audio>\r\n"
)

REGAUT01 = (  # §3.3.7 Unknown Authorization Scheme
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"To: sip:j.user@example.com\r\n"
    b"From: sip:j.user@example.com;tag=87321hj23128\r\n"
    b"Max-Forwards: 8\r\n"
    b"Call-ID: regaut01.0ha0isndaksdj\r\n"
    b"CSeq: 9338 REGISTER\r\n"
    b"Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw\r\n"
    b"Authorization: NoOneKnowsThisScheme opaque-data=here\r\n"
    b"Content-Length:0\r\n"
    b"\r\n"
)

MULTI01 = (  # §3.3.8 Multiple Values in Single Value Required Fields
    b"INVITE sip:user@company.com SIP/2.0\r\n"
    b"Contact: <sip:caller@host25.example.net>\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw\r\n"
    b"Max-Forwards: 70\r\n"
    b"CSeq: 5 INVITE\r\n"
    b"Call-ID: multi01.98asdh@192.0.2.1\r\n"
    b"CSeq: 59 INVITE\r\n"
    b"Call-ID: multi01.98asdh@192.0.2.2\r\n"
    b"From: sip:caller@example.com;tag=3413415\r\n"
    b"To: sip:user@example.com\r\n"
    b"To: sip:other@example.net\r\n"
    b"From: sip:caller@example.net;tag=2923420123\r\n"
    b"Content-Type: application/sdp\r\n"
    b"l: 154\r\n"
    b"Contact: <sip:caller@host36.example.net>\r\n"
    b"Max-Forwards: 5\r\n"
    b"\r\n" + SDP_150_1.replace(b"192.0.2.1", b"192.0.2.25") + b"\r\n"
)

MCL01 = (  # §3.3.9 Multiple Content-Length Values
    b"OPTIONS sip:user@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:other@example.net;tag=3923942\r\n"
    b"Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf\r\n"
    b"CSeq: 15932 OPTIONS\r\n"
    b"Content-Length: 13\r\n"
    b"Max-Forwards: 60\r\n"
    b"Content-Length: 5\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"There's no way to know how many octets are supposed to be here.\r\n"
)

BCAST = (  # §3.3.10 200 OK Response with Broadcast Via Header Field Value
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\n"
    b"Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23\r\n"
    b"Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf\r\n"
    b"CSeq: 35 INVITE\r\n"
    b"From: sip:user@example.com;tag=11141343\r\n"
    b"To: sip:user@example.edu;tag=2229\r\n"
    b"Content-Length: 154\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Contact: <sip:user@host28.example.com>\r\n"
    b"\r\n" + SDP_154_198
)

ZEROMF = (  # §3.3.11 Max-Forwards of Zero
    b"OPTIONS sip:user@example.com SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:caller@example.net;tag=3ghsd41\r\n"
    b"Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas\r\n"
    b"CSeq: 39234321 OPTIONS\r\n"
    b"Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i\r\n"
    b"Max-Forwards: 0\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

CPARAM01 = (  # §3.3.12 REGISTER with a Contact Header Parameter
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe\r\n"
    b"To: sip:watson@example.com\r\n"
    b"Call-ID: cparam01.70710@saturn.example.com\r\n"
    b"CSeq: 2 REGISTER\r\n"
    b"Contact: sip:+19725552222@gw1.example.net;unknownparam\r\n"
    b"l: 0\r\n"
    b"\r\n"
)
CPARAM02 = (
    CPARAM01.replace(  # §3.3.13 REGISTER with a url-parameter
        b"Contact: sip:+19725552222@gw1.example.net;unknownparam",
        b"Contact: <sip:+19725552222@gw1.example.net;unknownparam>",
    )
    .replace(b"tag=DkfVgjkrtMwaerKKpe", b"tag=838293")
    .replace(b"cparam01", b"cparam02")
    .replace(b"CSeq: 2", b"CSeq: 3")
)

REGESCRT = (  # §3.3.14 REGISTER with a URL Escaped Header
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:user@example.com;tag=8\r\n"
    b"Max-Forwards: 70\r\n"
    b"Call-ID: regescrt.k345asrl3fdbv@192.0.2.1\r\n"
    b"CSeq: 14398234 REGISTER\r\n"
    b"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n"
    b"M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>\r\n"
    b"L:0\r\n"
    b"\r\n"
)

SDP01 = (  # §3.3.15 Unacceptable Accept Offering
    b"INVITE sip:user@example.com SIP/2.0\r\n"
    b"To: sip:j_user@example.com\r\n"
    b"Contact: <sip:caller@host15.example.net>\r\n"
    b"From: sip:caller@example.net;tag=234\r\n"
    b"Max-Forwards: 5\r\n"
    b"Call-ID: sdp01.ndaksdj9342dasdd\r\n"
    b"Accept: text/nobodyKnowsThis\r\n"
    b"CSeq: 8 INVITE\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw\r\n"
    b"Content-Length: 150\r\n"
    b"Content-Type: application/sdp\r\n"
    b"\r\n" + SDP_150_5
)

INV2543 = (  # §3.4.1 INVITE with RFC 2543 Syntax (no Content-Length, no branch)
    b"INVITE sip:UserB@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP iftgw.example.com\r\n"
    b"From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n"
    b"Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>\r\n"
    b"To: sip:+16505552222@ss1.example.net;user=phone\r\n"
    b"Call-ID: inv2543.1717@ift.client.example.com\r\n"
    b"CSeq: 56 INVITE\r\n"
    b"Content-Type: application/sdp\r\n"
    b"\r\n"
    b"v=0\r\n"
    b"o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.5\r\n"
    b"t=0 0\r\n"
    b"m=audio 49217 RTP/AVP 0\r\n"
)

SEMANTIC_VALID = {
    "3.2.1-badbranch": BADBRANCH,
    "3.3.2-unkscm": UNKSCM,
    "3.3.3-novelsc": NOVELSC,
    "3.3.4-unksm2": UNKSM2,
    "3.3.5-bext01": BEXT01,
    "3.3.6-invut": INVUT,
    "3.3.7-regaut01": REGAUT01,
    "3.3.10-bcast": BCAST,
    "3.3.11-zeromf": ZEROMF,
    "3.3.12-cparam01": CPARAM01,
    "3.3.13-cparam02": CPARAM02,
    "3.3.14-regescrt": REGESCRT,
    "3.3.15-sdp01": SDP01,
    "3.4.1-inv2543": INV2543,
}


@pytest.mark.parametrize("data", list(SEMANTIC_VALID.values()), ids=list(SEMANTIC_VALID))
def test_rfc4475_syntactically_valid(data):
    msg = parse(data)
    msg.validate()
    assert bytes(msg) == data


def test_rfc4475_3_2_1_badbranch():
    via = parse(BADBRANCH).top_via
    assert via.branch == "z9hG4bK"
    assert via.has_magic_cookie


def test_rfc4475_3_3_1_insuf():
    with pytest.raises(SIPParseError) as info:
        parse(INSUF)
    assert info.value.status == 400
    for name in ("From", "To", "Call-ID"):
        assert name in str(info.value)


def test_rfc4475_3_3_2_and_3_3_3_uri_schemes():
    unk = parse(UNKSCM).uri
    assert isinstance(unk, AbsoluteURI)
    assert (unk.scheme, unk.rest) == ("nobodyKnowsThisScheme", "totallyopaquecontent")
    novel = parse(NOVELSC).uri
    assert isinstance(novel, AbsoluteURI)
    assert novel.scheme == "soap.beep"


def test_rfc4475_3_3_4_unksm2():
    msg = parse(UNKSM2)
    assert str(msg.to_addr.uri) == "isbn:2983792873"
    assert str(msg.from_addr.uri) == "http://www.example.com"
    assert msg.from_addr.tag == "3234233"
    assert str(msg.contacts[0].uri) == "name:John_Smith"


def test_rfc4475_3_3_5_bext01():
    msg = parse(BEXT01)
    assert msg.require == ("nothingSupportsThis", "nothingSupportsThisEither")
    assert msg.proxy_require == ("noProxiesSupportThis", "norDoAnyProxiesSupportThis")


def test_rfc4475_3_3_6_invut():
    msg = parse(INVUT)
    assert msg.content_type.mime == "application/unknownformat"
    assert msg.body == b'<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n'


def test_rfc4475_3_3_7_regaut01():
    (auth,) = parse(REGAUT01).authorization
    assert auth.scheme == "NoOneKnowsThisScheme"
    assert auth.get("opaque-data") == "here"


def test_rfc4475_3_3_8_multi01():
    with pytest.raises(SIPParseError):
        parse_and_validate(MULTI01)


def test_rfc4475_3_3_9_mcl01():
    with pytest.raises(SIPParseError) as info:
        parse(MCL01)
    assert info.value.status == 400


def test_rfc4475_3_3_10_bcast():
    msg = parse(BCAST)
    assert [v.host for v in msg.vias] == ["192.0.2.198", "255.255.255.255"]


def test_rfc4475_3_3_11_zeromf():
    assert parse(ZEROMF).max_forwards == 0


def test_rfc4475_3_3_12_and_3_3_13_cparam():
    c1 = parse(CPARAM01).contacts[0]
    assert "unknownparam" in c1.params  # a contact (header) parameter
    assert "unknownparam" not in c1.uri.params
    c2 = parse(CPARAM02).contacts[0]
    assert "unknownparam" not in c2.params
    assert "unknownparam" in c2.uri.params  # a url-parameter


def test_rfc4475_3_3_14_regescrt():
    uri = parse(REGESCRT).contacts[0].uri
    assert uri.headers == (("Route", "%3Csip:sip.example.com%3E"),)


def test_rfc4475_3_3_15_sdp01():
    msg = parse(SDP01)
    assert msg.headers.get("Accept") == "text/nobodyKnowsThis"
    assert msg.content_type.mime == "application/sdp"


def test_rfc4475_3_4_1_inv2543():
    msg = parse(INV2543)
    assert msg.body.startswith(b"v=0\r\n")
    assert msg.content_length == len(msg.body) == 105
    assert msg.top_via.branch is None
    assert not msg.top_via.has_magic_cookie
    assert msg.max_forwards is None
    assert msg.record_routes[0].uri.maddr == "ss1.example.com"
    assert msg.to_addr.params.get("user") == "phone"  # addr-spec: a header parameter


# ---------------------------------------------------------------------------
# RFC 5118 IPv6 torture tests
# ---------------------------------------------------------------------------

IPV6_GOOD = (  # §4.1 Valid SIP Message with an IPv6 Reference
    b"REGISTER sip:[2001:db8::10] SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:user@example.com;tag=81x2\r\n"
    b"Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\r\n"
    b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
    b"Max-Forwards: 70\r\n"
    b'Contact: "Caller" <sip:caller@[2001:db8::1]>\r\n'
    b"CSeq: 98176 REGISTER\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

IPV6_BAD = (  # §4.2 Invalid SIP Message with an IPv6 Reference
    b"REGISTER sip:2001:db8::10 SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:user@example.com;tag=81x2\r\n"
    b"Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\r\n"
    b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
    b"Max-Forwards: 70\r\n"
    b'Contact: "Caller" <sip:caller@[2001:db8::1]>\r\n'
    b"CSeq: 98176 REGISTER\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

PORT_AMBIGUOUS = IPV6_GOOD.replace(
    b"REGISTER sip:[2001:db8::10] SIP/2.0", b"REGISTER sip:[2001:db8::10:5070] SIP/2.0"
)  # §4.3
PORT_UNAMBIGUOUS = IPV6_GOOD.replace(
    b"REGISTER sip:[2001:db8::10] SIP/2.0", b"REGISTER sip:[2001:db8::10]:5070 SIP/2.0"
)  # §4.4

VIA_RECEIVED_WITH_DELIM = (  # §4.5 (first message)
    b"BYE sip:[2001:db8::10] SIP/2.0\r\n"
    b"To: sip:user@example.com;tag=bd76ya\r\n"
    b"From: sip:user@example.com;tag=81x2\r\n"
    b"Via: SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111\r\n"
    b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
    b"Max-Forwards: 70\r\n"
    b"CSeq: 321 BYE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

VIA_RECEIVED_WITHOUT_DELIM = (  # §4.5 (second message)
    b"OPTIONS sip:[2001:db8::10] SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:user@example.com;tag=81x2\r\n"
    b"Via: SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3\r\n"
    b"Call-ID: SSG95523997077@hlau_4100\r\n"
    b"Max-Forwards: 70\r\n"
    b'Contact: "Caller" <sip:caller@[2001:db8::9:1]>\r\n'
    b"CSeq: 921 OPTIONS\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

IPV6_SDP_BODY = (
    b"v=0\r\n"
    b"o=assistant 971731711378798081 0 IN IP6 2001:db8::20\r\n"
    b"s=Live video feed for today's meeting\r\n"
    b"c=IN IP6 2001:db8::20\r\n"
    b"t=3338481189 3370017201\r\n"
    b"m=audio 6000 RTP/AVP 2\r\n"
    b"a=rtpmap:2 G726-32/8000\r\n"
    b"m=video 6024 RTP/AVP 107\r\n"
    b"a=rtpmap:107 H263-1998/90000\r\n"
)
IPV6_IN_SDP = (  # §4.6 SIP Request with IPv6 Addresses in SDP Body
    b"INVITE sip:user@[2001:db8::10] SIP/2.0\r\n"
    b"To: sip:user@[2001:db8::10]\r\n"
    b"From: sip:user@example.com;tag=81x2\r\n"
    b"Via: SIP/2.0/UDP [2001:db8::20];branch=z9hG4bKas3-111\r\n"
    b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
    b'Contact: "Caller" <sip:caller@[2001:db8::20]>\r\n'
    b"CSeq: 8612 INVITE\r\n"
    b"Max-Forwards: 70\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: %d\r\n"
    b"\r\n" % len(IPV6_SDP_BODY)
) + IPV6_SDP_BODY

MULT_IP_IN_HEADER = (  # §4.7 Multiple IP Addresses in SIP Headers
    b"BYE sip:user@host.example.net SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKjhja8781hjuaij65144\r\n"
    b"Via: SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK451jj;received=192.0.2.200\r\n"
    b"Call-ID: 997077@lau_4100\r\n"
    b"Max-Forwards: 70\r\n"
    b"CSeq: 89187 BYE\r\n"
    b"To: sip:user@example.net;tag=9817--94\r\n"
    b"From: sip:user@example.com;tag=81x2\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

IPV4_MAPPED_SDP = (
    b"v=0\r\n"
    b"o=depot 2123123 2123123 IN IP4 192.0.2.2\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.2\r\n"
    b"t=0 0\r\n"
    b"m=audio 32818 RTP/AVP 0\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
)
IPV4_MAPPED_IPV6 = (  # §4.9 IPv4-Mapped IPv6 Addresses
    b"INVITE sip:user@example.com SIP/2.0\r\n"
    b"To: sip:user@example.com\r\n"
    b"From: sip:user@east.example.com;tag=81x2\r\n"
    b"Via: SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbh19\r\n"
    b"Via: SIP/2.0/UDP [::ffff:192.0.2.2]:10820;branch=z9hG4bKbh19\r\n"
    b"Call-ID: SSG9559905523997077@hlau_4100\r\n"
    b'Contact: "T. desk phone" <sip:ted@[::ffff:192.0.2.2]>\r\n'
    b"CSeq: 612 INVITE\r\n"
    b"Max-Forwards: 70\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: %d\r\n"
    b"\r\n" % len(IPV4_MAPPED_SDP)
) + IPV4_MAPPED_SDP

IPV6_3_COLONS = (  # §4.10 IPv6 Reference Bug in RFC 3261 ABNF
    b"OPTIONS sip:user@[2001:db8:::192.0.2.1] SIP/2.0\r\n"
    b"To: sip:user@[2001:db8:::192.0.2.1]\r\n"
    b"From: sip:user@example.com;tag=810x2\r\n"
    b"Via: SIP/2.0/UDP lab1.east.example.com;branch=z9hG4bKas3-111\r\n"
    b"Call-ID: G9559905523997077@hlau_4100\r\n"
    b"CSeq: 689 OPTIONS\r\n"
    b"Max-Forwards: 70\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)
IPV6_2_COLONS = IPV6_3_COLONS.replace(b"2001:db8:::192.0.2.1", b"2001:db8::192.0.2.1")

RFC5118_VALID = {
    "4.1-ipv6-good": IPV6_GOOD,
    "4.3-port-ambiguous": PORT_AMBIGUOUS,
    "4.4-port-unambiguous": PORT_UNAMBIGUOUS,
    "4.5-via-received-param-with-delim": VIA_RECEIVED_WITH_DELIM,
    "4.5-via-received-param-no-delim": VIA_RECEIVED_WITHOUT_DELIM,
    "4.6-ipv6-in-sdp": IPV6_IN_SDP,
    "4.7-mult-ip-in-header": MULT_IP_IN_HEADER,
    "4.9-ipv4-mapped-ipv6": IPV4_MAPPED_IPV6,
    "4.10-ipv6-correct-abnf-2-colons": IPV6_2_COLONS,
}


@pytest.mark.parametrize("data", list(RFC5118_VALID.values()), ids=list(RFC5118_VALID))
def test_rfc5118_valid(data):
    msg = parse(data)
    msg.validate()
    assert bytes(msg) == data


@pytest.mark.parametrize(
    "data", [IPV6_BAD, IPV6_3_COLONS], ids=["4.2-ipv6-bad", "4.10-ipv6-bug-abnf-3-colons"]
)
def test_rfc5118_invalid(data):
    with pytest.raises(SIPParseError) as info:
        parse_and_validate(data)
    assert info.value.status == 400


def test_rfc5118_details():
    good = parse(IPV6_GOOD)
    assert good.uri.host == "[2001:db8::10]" and good.uri.port is None
    assert good.top_via.host == "[2001:db8::9:1]"
    assert good.contacts[0].uri.host == "[2001:db8::1]"
    amb = parse(PORT_AMBIGUOUS).uri
    assert (amb.host, amb.port) == ("[2001:db8::10:5070]", None)
    unamb = parse(PORT_UNAMBIGUOUS).uri
    assert (unamb.host, unamb.port) == ("[2001:db8::10]", 5070)
    assert parse(VIA_RECEIVED_WITH_DELIM).top_via.received == "[2001:db8::9:255]"
    assert parse(VIA_RECEIVED_WITHOUT_DELIM).top_via.received == "2001:db8::9:255"
    assert parse(IPV6_IN_SDP).body == IPV6_SDP_BODY
    vias = parse(MULT_IP_IN_HEADER).vias
    assert [(v.host, v.port) for v in vias] == [
        ("[2001:db8::9:1]", 6050),
        ("192.0.2.1", None),
        ("[2001:db8::9:255]", None),
    ]
    assert vias[2].received == "192.0.2.200"
    mapped = parse(IPV4_MAPPED_IPV6)
    assert [(v.host, v.port) for v in mapped.vias] == [
        ("[::ffff:192.0.2.10]", 19823),
        ("[::ffff:192.0.2.2]", 10820),
    ]
    assert mapped.contacts[0].uri.host == "[::ffff:192.0.2.2]"
    assert parse(IPV6_2_COLONS).uri.host == "[2001:db8::192.0.2.1]"


# ---------------------------------------------------------------------------
# Start lines
# ---------------------------------------------------------------------------

HEADERS_FOR = (
    b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
)


def request(
    method: bytes,
    uri: bytes = b"sip:bob@biloxi.com",
    version: bytes = b"SIP/2.0",
    cseq_method: bytes | None = None,
) -> bytes:
    return (
        method
        + b" "
        + uri
        + b" "
        + version
        + b"\r\n"
        + HEADERS_FOR
        + b"CSeq: 1 "
        + (method if cseq_method is None else cseq_method)
        + b"\r\n"
        b"Content-Length: 0\r\n\r\n"
    )


def response(status_line: bytes) -> bytes:
    return status_line + b"\r\n" + HEADERS_FOR + b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize(
    "method",
    [
        "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY",
        "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
        "FOO", "NEWMETHOD", "X-EXTENSION", "invite", "a",
        "!interesting-Method0123456789_*+`.%indeed'~", "RE%47IST%45R",
    ],
)  # fmt: skip
def test_request_methods(method):
    data = request(method.encode())
    msg = parse(data)
    assert isinstance(msg, Request)
    assert msg.method == method
    assert msg.validate() is msg
    assert bytes(msg) == data


@pytest.mark.parametrize(
    "line",
    [
        b"INV<ITE sip:bob@biloxi.com SIP/2.0",
        b'INV"ITE sip:bob@biloxi.com SIP/2.0',
        b"INVITE: sip:bob@biloxi.com SIP/2.0",
        b"INV\xc3\x89TE sip:bob@biloxi.com SIP/2.0",
        b" sip:bob@biloxi.com SIP/2.0",
        b"INVITE sip:bob@biloxi.com",
        b"INVITE",
        b"INVITE\tsip:bob@biloxi.com\tSIP/2.0",
        b"INVITE sip:bob@biloxi.com SIP/2.0 extra",
        b"INVITE sip:bob@biloxi.com HTTP/1.1",
        b"INVITE sip:bob@biloxi.com SIP/2",
        b"INVITE sip:bob@biloxi.com SIP2.0",
        b"INVITE bob@biloxi.com SIP/2.0",  # no scheme
        b"INVITE sip:bob@biloxi.com  SIP/2.0",
        b"",
    ],
)
def test_bad_request_lines(line):
    data = line + b"\r\n" + HEADERS_FOR + b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    with pytest.raises(SIPParseError) as info:
        parse(data)
    assert info.value.status == 400


@pytest.mark.parametrize("version", [b"SIP/2.1", b"SIP/3.0", b"SIP/1.0", b"SIP/7.0", b"SIP/20.0"])
def test_unsupported_version(version):
    with pytest.raises(VersionNotSupported) as info:
        parse(request(b"OPTIONS", version=version))
    assert info.value.status == 505


@pytest.mark.parametrize("version", [b"sip/2.0", b"Sip/2.0", b"SIP/2.0"])
def test_version_is_case_insensitive(version):
    # RFC 3261 §7.1: "The SIP-Version string is case-insensitive".
    msg = parse(request(b"OPTIONS", version=version))
    assert msg.method == "OPTIONS"
    assert parse(response(version + b" 200 OK")).status == 200


def test_request_uri_parsed_lazily():
    data = request(b"OPTIONS", uri=b"sip:bob@@biloxi.com")
    msg = parse(data)  # frames fine
    assert msg.uri_text == "sip:bob@@biloxi.com"
    with pytest.raises(SIPParseError):
        _ = msg.uri
    with pytest.raises(SIPParseError):
        msg.validate()
    assert bytes(msg) == data


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        (b"sip:bob@biloxi.com", SipURI),
        (b"sips:bob@biloxi.com:5061", SipURI),
        (b"tel:+1-201-555-0123", type(parse_uri("tel:1"))),
        (b"urn:service:sos", AbsoluteURI),
        (b"SIP:bob@biloxi.com", SipURI),
    ],
)
def test_request_uri_types(uri, kind):
    msg = parse(request(b"OPTIONS", uri=uri))
    assert isinstance(msg.uri, kind)
    assert msg.uri_text == uri.decode()


@pytest.mark.parametrize(
    "status",
    [
        100,
        101,
        180,
        181,
        182,
        183,
        199,
        200,
        202,
        204,
        250,
        299,
        300,
        302,
        380,
        399,
        400,
        401,
        404,
        407,
        420,
        481,
        487,
        499,
        500,
        503,
        555,
        599,
        600,
        603,
        606,
        699,
    ],
)
def test_status_codes(status):
    data = response(b"SIP/2.0 %d Some Reason" % status)
    msg = parse(data)
    assert isinstance(msg, Response)
    assert msg.status == status
    assert msg.reason == "Some Reason"
    assert msg.is_provisional is (status < 200)
    assert msg.is_success is (200 <= status < 300)
    msg.validate()
    assert bytes(msg) == data


@pytest.mark.parametrize(
    "line",
    [
        b"SIP/2.0 099 Too Small",
        b"SIP/2.0 700 Too Big",
        b"SIP/2.0 999 Too Big",
        b"SIP/2.0 000 Zero",
        b"SIP/2.0 99 Short",
        b"SIP/2.0 1000 Long",
        b"SIP/2.0 2OO Letters",
        b"SIP/2.0 +20 Sign",
        b"SIP/2.0  200 Extra SP",
        b"SIP/2.0 abc",
        b"SIP/2.0",
        b"SIP/2.0 4294967301 better not break the receiver",
        b"SIP/2.0 \xd9\xa2\xd9\xa0\xd9\xa0 Arabic-Indic digits",
        b"SIP/3.0 200 OK",
        b"SIP/2.0/200 OK",
    ],
)
def test_bad_status_lines(line):
    with pytest.raises(SIPParseError):
        parse(response(line))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"SIP/2.0 200 OK", "OK"),
        (b"SIP/2.0 100 ", ""),  # RFC 4475 noreason
        (b"SIP/2.0 180 Ringing", "Ringing"),
        (b"SIP/2.0 404 Not%20Found", "Not%20Found"),  # escaped, kept as written
        (b"SIP/2.0 486 Busy  Here  ", "Busy  Here  "),  # spaces are part of the phrase
        (b"SIP/2.0 480 Temporarily\tUnavailable", "Temporarily\tUnavailable"),
        (b"SIP/2.0 200 = 2**3 * 5**2", "= 2**3 * 5**2"),
        ("SIP/2.0 200 Très bien \u2713".encode(), "Très bien \u2713"),
        ("SIP/2.0 603 \u62d2\u5426".encode(), "\u62d2\u5426"),
    ],
)
def test_reason_phrases(line, reason):
    data = response(line)
    msg = parse(data)
    assert msg.reason == reason
    assert bytes(msg) == data


def test_missing_space_after_status_code_is_tolerated():
    # RFC 4475 §3.1.1.13: "a liberal receiver would accept it anyway".
    msg = parse(response(b"SIP/2.0 100"))
    assert (msg.status, msg.reason) == (100, "")


# ---------------------------------------------------------------------------
# Framing of datagrams (RFC 3261 §18.3, §7.5)
# ---------------------------------------------------------------------------

OPTIONS_HEAD = (
    b"OPTIONS sip:bob@biloxi.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 63104 OPTIONS\r\n"
)


def test_datagram_without_content_length_takes_the_rest():
    data = OPTIONS_HEAD + b"\r\nhello world"
    msg = parse(data)
    assert msg.body == b"hello world"
    assert msg.content_length == 11
    assert bytes(msg) == data


def test_datagram_without_body():
    data = OPTIONS_HEAD + b"\r\n"
    msg = parse(data)
    assert msg.body == b""
    assert msg.content_length == 0


@pytest.mark.parametrize(
    "cl_line",
    [
        b"Content-Length: 5",
        b"l: 5",
        b"Content-Length:5",
        b"Content-Length:   5   ",
        b"CONTENT-LENGTH: 0005",
    ],
)
def test_datagram_longer_than_content_length_is_truncated(cl_line):
    head = OPTIONS_HEAD + cl_line + b"\r\n\r\n"
    msg = parse(head + b"hello, extra octets")
    assert msg.body == b"hello"
    assert msg.content_length == 5
    assert bytes(msg) == head + b"hello"


def test_datagram_shorter_than_content_length_is_an_error():
    with pytest.raises(SIPParseError) as info:
        parse(OPTIONS_HEAD + b"Content-Length: 10\r\n\r\nshort")
    assert info.value.status == 400


@pytest.mark.parametrize(
    "value", [b"-1", b"five", b"5x", b"+5", b"5 5", b"", b"0x10", b"\xd9\xa5", b"99999999999"]
)
def test_bad_content_length(value):
    with pytest.raises(SIPParseError):
        parse(OPTIONS_HEAD + b"Content-Length: " + value + b"\r\n\r\n")


def test_repeated_identical_content_length_accepted():
    msg = parse(OPTIONS_HEAD + b"Content-Length: 2\r\nl: 2\r\n\r\nhi")
    assert msg.body == b"hi"


def test_conflicting_content_length_rejected():
    with pytest.raises(SIPParseError):
        parse(OPTIONS_HEAD + b"Content-Length: 2\r\nl: 3\r\n\r\nhi!")


def test_body_may_contain_crlfcrlf_and_binary():
    body = b"\r\n\r\nline\r\n\r\n\x00\xff"
    data = OPTIONS_HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body
    msg = parse(data)
    assert msg.body == body
    assert bytes(msg) == data


def test_leading_crlf_before_start_line_ignored():
    # RFC 3261 §7.5: CRLFs before the start line should be ignored.
    data = OPTIONS_HEAD + b"Content-Length: 0\r\n\r\n"
    msg = parse(b"\r\n\r\n\r\n" + data)
    assert msg.method == "OPTIONS"
    assert bytes(msg) == data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        OPTIONS_HEAD,  # no empty line
        OPTIONS_HEAD.replace(b"\r\n", b"\n") + b"\n",  # bare LF line ends
        OPTIONS_HEAD + b"\n",
        b"garbage\r\n\r\n",
        b"\x00\x01\x02\x03\r\n\r\n",
        OPTIONS_HEAD.replace(b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n", b"")
        + b"\r\n",  # missing Call-ID
        OPTIONS_HEAD.replace(b"CSeq: 63104 OPTIONS\r\n", b"") + b"\r\n",
        OPTIONS_HEAD.replace(b"To: Bob <sip:bob@biloxi.com>\r\n", b"") + b"\r\n",
        OPTIONS_HEAD.replace(b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n", b"")
        + b"\r\n",
        OPTIONS_HEAD.replace(b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n", b"")
        + b"\r\n",
        OPTIONS_HEAD + b"X-Bad: \xc3\x28\r\n\r\n",  # invalid UTF-8
    ],
)
def test_datagram_framing_errors(data):
    with pytest.raises(SIPParseError):
        parse(data)


def test_parse_accepts_bytearray_and_memoryview():
    data = OPTIONS_HEAD + b"Content-Length: 0\r\n\r\n"
    assert bytes(parse(bytearray(data))) == data
    assert bytes(parse(memoryview(data))) == data


# ---------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------


def test_message_too_large():
    data = OPTIONS_HEAD + b"Content-Length: 0\r\n\r\n"
    with pytest.raises(MessageTooLarge) as info:
        parse(data, Limits(max_message_size=len(data) - 1))
    assert info.value.status == 513
    assert parse(data, Limits(max_message_size=len(data))).method == "OPTIONS"


def test_declared_body_too_large():
    data = OPTIONS_HEAD + b"Content-Length: 11\r\n\r\nhello world"
    with pytest.raises(BodyTooLarge) as info:
        parse(data, Limits(max_body_size=10))
    assert info.value.status == 413
    assert parse(data, Limits(max_body_size=11)).body == b"hello world"


def test_undeclared_body_too_large():
    with pytest.raises(BodyTooLarge) as info:
        parse(OPTIONS_HEAD + b"\r\nhello world", Limits(max_body_size=10))
    assert info.value.status == 413


def test_request_uri_too_long():
    uri = b"sip:" + b"a" * 200 + b"@example.com"
    data = request(b"OPTIONS", uri=uri)
    with pytest.raises(URITooLong) as info:
        parse(data, Limits(max_uri_length=100))
    assert info.value.status == 414
    assert parse(data, Limits(max_uri_length=len(uri))).uri_text == uri.decode()


def test_too_many_headers():
    extra = b"".join(b"X-H%d: v\r\n" % i for i in range(20))
    data = OPTIONS_HEAD + extra + b"Content-Length: 0\r\n\r\n"
    with pytest.raises(TooManyHeaders) as info:
        parse(data, Limits(max_header_lines=20))
    assert info.value.status == 400
    assert parse(data, Limits(max_header_lines=40)).headers.get("X-H19") == "v"


def test_folded_lines_count_against_header_limit():
    folded = b"Subject: a" + b"\r\n b" * 30 + b"\r\n"
    with pytest.raises(TooManyHeaders):
        parse(OPTIONS_HEAD + folded + b"\r\n", Limits(max_header_lines=20))


def test_long_header_line():
    data = OPTIONS_HEAD + b"Subject: " + b"x" * 500 + b"\r\n\r\n"
    with pytest.raises(SIPParseError) as info:
        parse(data, Limits(max_line_length=200))
    assert info.value.status == 400
    assert parse(data, Limits(max_line_length=600)).headers.get("Subject") == "x" * 500


def test_default_limits_accept_longreq():
    assert parse(LONGREQ).method == "INVITE"


# ---------------------------------------------------------------------------
# Round trip and edits
# ---------------------------------------------------------------------------


def test_untouched_message_is_byte_exact_after_reading_views():
    msg = parse(WSINV)
    msg.validate()
    _ = (msg.vias, msg.contacts, msg.routes, msg.headers.items(), msg.headers.get_list("Via"))
    assert bytes(msg) == WSINV


def test_edit_keeps_other_lines_verbatim():
    msg = parse(WSINV)
    msg.headers.add("Record-Route", "<sip:proxy.example.com;lr>", first=True)
    out = bytes(msg)
    assert out != WSINV
    assert b"Record-Route: <sip:proxy.example.com;lr>\r\n" in out
    for line in [
        b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n",
        b"MaX-fOrWaRdS: 0068\r\n",
        b"Call-ID: wsinv.ndaksdj@192.0.2.1\r\n",
        b"Content-Length   : 150\r\n",
        b"s :\r\n",
        b"UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n",
        b"Content-Type: application/sdp\r\n",
    ]:
        assert line in out, line
    assert out.endswith(b"\r\n\r\n" + SDP_150)
    # Folded lines are written unfolded (equivalent by RFC 3261 §7.3.1).
    again = parse(out)
    for name in ("To", "From", "CSeq", "Via", "NewFangledHeader", "Route", "Contact"):
        assert again.headers.get_all(name) == msg.headers.get_all(name), name
    assert again.record_routes[0].uri.host == "proxy.example.com"
    again.validate()


def test_proxy_style_via_push_and_pop():
    data = OPTIONS_HEAD + b"Content-Length: 0\r\n\r\n"
    msg = parse(data)
    msg.headers.add("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy1", first=True)
    assert msg.top_via.host == "proxy.example.com"
    assert [v.host for v in msg.vias] == ["proxy.example.com", "pc33.atlanta.com"]
    assert msg.headers.pop_first("Via") == "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy1"
    assert bytes(msg) == data  # every line is back as received


def test_max_forwards_decrement():
    msg = parse(OPTIONS_HEAD + b"Content-Length: 0\r\n\r\n")
    msg.headers.set("Max-Forwards", str(msg.max_forwards - 1))
    out = bytes(msg)
    assert b"Max-Forwards: 69\r\n" in out
    assert out.index(b"Max-Forwards") < out.index(b"To:")  # in place
    assert parse(out).max_forwards == 69


def test_body_change_updates_content_length():
    msg = parse(OPTIONS_HEAD + b"Content-Length: 0\r\n\r\n")
    msg.body = b"new body"
    out = bytes(msg)
    assert out.endswith(b"Content-Length: 8\r\n\r\nnew body")
    assert out.count(b"Content-Length") == 1
    assert parse(out).body == b"new body"
    with pytest.raises(SIPUsageError):
        msg.body = "text"  # type: ignore[assignment]


def test_start_line_edits():
    msg = parse(OPTIONS_HEAD + b"Content-Length: 0\r\n\r\n")
    msg.uri = "sip:carol@chicago.com"
    assert bytes(msg).startswith(b"OPTIONS sip:carol@chicago.com SIP/2.0\r\n")
    msg.method = "INFO"
    assert bytes(msg).startswith(b"INFO sip:carol@chicago.com SIP/2.0\r\n")
    resp = parse(response(b"SIP/2.0 180 Ringing"))
    resp.reason = "Ringing Loudly"
    assert bytes(resp).startswith(b"SIP/2.0 180 Ringing Loudly\r\n")
    resp.status = 183
    assert bytes(resp).startswith(b"SIP/2.0 183 Session Progress\r\n")


def test_noreason_round_trip_after_edit():
    msg = parse(NOREASON)
    msg.headers.add("Server", "x")
    assert bytes(msg).startswith(b"SIP/2.0 100 \r\n")


def test_message_equality():
    data = OPTIONS_HEAD + b"Content-Length: 0\r\n\r\n"
    assert parse(data) == parse(data)
    other = parse(data)
    other.headers.add("Subject", "x")
    assert parse(data) != other


# ---------------------------------------------------------------------------
# Builders (RFC 3261 §8.1.1, §8.2.6)
# ---------------------------------------------------------------------------


def make_invite(**kw):
    args = {
        "from_addr": "Alice <sip:alice@atlanta.com>",
        "to_addr": "Bob <sip:bob@biloxi.com>",
        "via": "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds",
        "call_id": "a84b4c76e66710@pc33.atlanta.com",
        "cseq": 314159,
        "contact": "<sip:alice@pc33.atlanta.com>",
    }
    args.update(kw)
    return make_request("INVITE", "sip:bob@biloxi.com", **args)


def test_make_request():
    req = make_invite(body=b"v=0\r\n", content_type="application/sdp")
    assert req.method == "INVITE"
    assert req.max_forwards == 70
    assert req.cseq.seq == 314159 and req.cseq.method == "INVITE"
    assert req.from_addr.tag  # a fresh tag was added
    assert req.to_addr.tag is None
    assert req.top_via.branch == "z9hG4bK776asdhds"
    assert req.content_length == 5
    assert req.content_type.mime == "application/sdp"
    req.validate()
    data = bytes(req)
    again = parse(data)
    assert bytes(again) == data
    assert again == req


def test_make_request_generates_call_id_and_branch():
    from sipstack.message import Via

    req = make_invite(call_id=None, via=Via("pc33.atlanta.com"))
    assert req.call_id
    assert req.top_via.has_magic_cookie
    assert len(req.top_via.branch) > len("z9hG4bK")


def test_new_identifiers():
    assert new_branch().startswith("z9hG4bK")
    assert new_branch() != new_branch()
    assert new_tag() != new_tag()
    assert len(new_tag()) >= 8  # at least 32 bits of randomness (§19.3)
    assert new_call_id("example.com").endswith("@example.com")
    assert new_call_id() != new_call_id()


def test_tags_stay_unique_across_pool_refills_threads_and_fork():
    import os
    import threading

    # More than one 4 KiB refill of the random pool, from several threads.
    seen: list[str] = []

    def take() -> None:
        seen.extend(new_tag() for _ in range(2000))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(seen) == 8000 and len(set(seen)) == 8000
    if not hasattr(os, "fork"):
        return
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next tag must not be the parent's
        os.write(w, new_tag().encode())
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    child = os.read(r, 64).decode()
    os.close(r)
    assert child and child != new_tag()


def request_for_response():
    return parse(
        b"INVITE sip:bob@biloxi.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3\r\n"
        b"v: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2\r\n"
        b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds ;received=192.0.2.1\r\n"
        b"Max-Forwards: 68\r\n"
        b"To: Bob <sip:bob@biloxi.com>\r\n"
        b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Timestamp: 54\r\n"
        b"Record-Route: <sip:server10.biloxi.com;lr>, <sip:bigbox3.site3.atlanta.com;lr>\r\n"
        b"Contact: <sip:alice@pc33.atlanta.com>\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
    )


def test_make_response_copies_headers():
    req = request_for_response()
    resp = make_response(req, 180, to_tag="a6c85cf")
    assert resp.status == 180 and resp.reason == "Ringing"
    assert resp.headers.get_all("Via") == req.headers.get_all("Via")  # all Via values, in order
    assert [v.branch for v in resp.vias] == [v.branch for v in req.vias]
    assert resp.from_addr == req.from_addr
    assert resp.headers.get("From") == req.headers.get("From")
    assert resp.call_id == req.call_id
    assert resp.cseq == req.cseq
    assert resp.to_addr.tag == "a6c85cf"
    assert resp.to_addr.uri == req.to_addr.uri
    assert resp.to_addr.display_name == "Bob"
    assert "Record-Route" not in resp.headers
    assert "Timestamp" not in resp.headers  # only copied into a 100
    assert resp.content_length == 0
    resp.validate()
    data = bytes(resp)
    assert bytes(parse(data)) == data


def test_make_response_100_trying():
    req = request_for_response()
    resp = make_response(req, 100, to_tag="a6c85cf")
    assert resp.reason == "Trying"
    assert resp.to_addr.tag is None  # §8.2.6.2: no To tag in a 100
    assert resp.headers.get("Timestamp") == "54"  # §8.2.6.1


def test_make_response_record_route_and_custom_reason():
    req = request_for_response()
    resp = make_response(
        req,
        200,
        "Fine",
        to_tag="x",
        copy_record_route=True,
        headers=[("Contact", "<sip:bob@192.0.2.4>")],
    )
    assert resp.reason == "Fine"
    assert [r.uri.host for r in resp.record_routes] == [
        "server10.biloxi.com",
        "bigbox3.site3.atlanta.com",
    ]
    assert str(resp.contacts[0].uri) == "sip:bob@192.0.2.4"


def test_make_response_keeps_existing_to_tag():
    req = parse(
        OPTIONS_HEAD.replace(
            b"To: Bob <sip:bob@biloxi.com>", b"To: Bob <sip:bob@biloxi.com>;tag=existing"
        )
        + b"Content-Length: 0\r\n\r\n"
    )
    resp = make_response(req, 200, to_tag="other")
    assert resp.to_addr.tag == "existing"
    assert resp.headers.get("To") == "Bob <sip:bob@biloxi.com>;tag=existing"


def test_make_response_unknown_status_has_empty_reason():
    resp = make_response(request_for_response(), 499)
    assert resp.reason == ""
    assert bytes(resp).startswith(b"SIP/2.0 499 \r\n")


# ---------------------------------------------------------------------------
# Local validation refuses CR, LF and NUL
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["OK\r\nVia: evil", "OK\n", "O\rK", "OK\x00"])
def test_response_reason_refuses_injection(reason):
    with pytest.raises(SIPUsageError):
        Response(200, reason)
    resp = Response(200)
    with pytest.raises(SIPUsageError):
        resp.reason = reason


@pytest.mark.parametrize("status", [99, 700, 0, -1, 1000])
def test_response_status_range(status):
    with pytest.raises(SIPUsageError):
        Response(status)


@pytest.mark.parametrize("method", ["INV ITE", "INVITE\r\n", "", "INV\x00ITE", "INVITE:"])
def test_request_method_refuses_bad_token(method):
    with pytest.raises(SIPUsageError):
        Request(method, "sip:bob@biloxi.com")
    req = Request("OPTIONS", "sip:bob@biloxi.com")
    with pytest.raises(SIPUsageError):
        req.method = method


@pytest.mark.parametrize(
    "uri",
    [
        "sip:bob@biloxi.com SIP/2.0\r\nVia: x",
        "sip:bob@biloxi.com\r\n",
        "sip:bob@bil oxi.com",
        "sip:\x00@x",
        "not a uri",
    ],
)
def test_request_uri_refuses_bad_text(uri):
    with pytest.raises(SIPUsageError):
        Request("OPTIONS", uri)
    req = Request("OPTIONS", "sip:bob@biloxi.com")
    with pytest.raises(SIPUsageError):
        req.uri = uri


@pytest.mark.parametrize("value", ["x\r\nVia: SIP/2.0/UDP evil", "x\n", "x\r", "x\x00"])
def test_request_headers_refuse_injection(value):
    with pytest.raises(SIPUsageError):
        Request("OPTIONS", "sip:bob@biloxi.com", [("Subject", value)])
    with pytest.raises(SIPUsageError):
        make_invite(headers=[("Subject", value)])


def test_builders_refuse_bad_addresses():
    with pytest.raises(SIPUsageError):
        make_invite(from_addr="not an address <")
    with pytest.raises(SIPUsageError):
        make_invite(max_forwards=256)


def test_built_messages_serialise_with_crlf_only():
    req = make_invite(headers=[("Subject", "hello")])
    data = bytes(req)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert data.endswith(b"\r\n\r\n")


def _with_subject(subject: bytes) -> bytes:
    return request(b"MESSAGE").replace(b"Content-Length: 0", subject + b"\r\nContent-Length: 0")


def test_control_character_quoted_per_line_but_not_once_unfolded_is_refused() -> None:
    """Found by the fuzzer: a quote left open on a folded line pairs with a
    quote on the continuation line, so a quoted-pair control character that
    looked quoted line by line is outside the quotes in the unfolded header
    (and a re-serialised message would no longer parse)."""
    folded = b'Subject: "open\r\n x="a\\\x02b"'
    with pytest.raises(SIPParseError):
        parse(_with_subject(folded))


def test_control_character_quoted_across_a_fold_is_accepted() -> None:
    folded = b'Subject: "one\r\n two \\\x02 three"'
    msg = parse(_with_subject(folded))
    assert msg.headers.get("Subject") == '"one two \\\x02 three"'
