"""Generate the benchmark corpus in ``bench/corpus/``.

Every message is assembled from a list of header lines and an optional body,
joined with exact CRLF line endings, and given a Content-Length equal to the
byte length of its body.  ``expected.json`` records the ground truth each parser
must reproduce (Call-ID, top Via branch and host, CSeq number and method).

Run ``python bench/make_corpus.py`` to (re)write the corpus; the output is
deterministic, so the committed files can be checked with ``--check``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
CRLF = "\r\n"


@dataclass(frozen=True)
class Sample:
    """One corpus message before serialization."""

    name: str
    start_line: str
    headers: tuple[str, ...]
    body: str = ""
    content_length_name: str = "Content-Length"

    def to_bytes(self) -> bytes:
        """Serialize with CRLF line endings and an exact Content-Length."""
        body = self.body.encode("utf-8")
        lines = [self.start_line, *self.headers, f"{self.content_length_name}: {len(body)}"]
        return (CRLF.join(lines) + CRLF + CRLF).encode("utf-8") + body


def _lines(*lines: str) -> str:
    """Join body lines with CRLF, ending with a final CRLF."""
    return CRLF.join(lines) + CRLF


# --- bodies -----------------------------------------------------------------

SDP_OFFER = _lines(
    "v=0",
    "o=alice 2890844526 2890844526 IN IP4 198.51.100.10",
    "s=-",
    "c=IN IP4 198.51.100.10",
    "t=0 0",
    "m=audio 49170 RTP/AVP 0 8 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:20",
    "a=sendrecv",
)

SDP_ANSWER = _lines(
    "v=0",
    "o=bob 2808844564 2808844564 IN IP4 203.0.113.20",
    "s=-",
    "c=IN IP4 203.0.113.20",
    "t=0 0",
    "m=audio 3456 RTP/AVP 0 101",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:20",
    "a=sendrecv",
)

SDP_COMPACT = _lines(
    "v=0",
    "o=carol 53655765 2353687637 IN IP4 192.0.2.33",
    "s=-",
    "c=IN IP4 192.0.2.33",
    "t=0 0",
    "m=audio 3458 RTP/AVP 0 8",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
)

PIDF_OPEN = _lines(
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<presence xmlns="urn:ietf:params:xml:ns:pidf"',
    '    entity="sip:alice@atlanta.example.com">',
    '  <tuple id="a8098a.672364762364">',
    "    <status>",
    "      <basic>open</basic>",
    "    </status>",
    '    <contact priority="0.8">sip:alice@pc33.atlanta.example.com</contact>',
    "    <note>Available</note>",
    "  </tuple>",
    "</presence>",
)

PIDF_AWAY = _lines(
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<presence xmlns="urn:ietf:params:xml:ns:pidf"',
    '    entity="sip:alice@atlanta.example.com">',
    '  <tuple id="bs35r9f">',
    "    <status>",
    "      <basic>open</basic>",
    "    </status>",
    '    <note xml:lang="en">In a meeting</note>',
    "  </tuple>",
    "</presence>",
)

# --- messages ---------------------------------------------------------------

INVITE_VIAS = (
    "Via: SIP/2.0/UDP ss2.biloxi.example.com:5060;branch=z9hG4bK721e418c4.1",
    "Via: SIP/2.0/UDP ss1.atlanta.example.com:5060;branch=z9hG4bK2d4790.1;received=192.0.2.111",
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8"
    ";received=192.0.2.101;rport=5060",
)
INVITE_RECORD_ROUTES = (
    "Record-Route: <sip:ss2.biloxi.example.com;lr>",
    "Record-Route: <sip:ss1.atlanta.example.com;lr>",
)
INVITE_FROM = 'From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=9fxced76sl'
INVITE_TO = "To: Bob <sip:bob@biloxi.example.com>"
INVITE_CALL_ID = "3848276298220188511@atlanta.example.com"
DIALOG_TO = "To: Bob <sip:bob@biloxi.example.com>;tag=314159"

SAMPLES: tuple[Sample, ...] = (
    Sample(
        "register_digest.sip",
        "REGISTER sip:registrar.biloxi.example.com SIP/2.0",
        (
            "Via: SIP/2.0/TCP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;rport",
            "Max-Forwards: 70",
            "To: Bob <sip:bob@biloxi.example.com>",
            "From: Bob <sip:bob@biloxi.example.com>;tag=456248",
            "Call-ID: 843817637684230@998sdasdh09",
            "CSeq: 1826 REGISTER",
            "Contact: <sip:bob@192.0.2.4:5060;transport=tcp>;expires=7200",
            'Authorization: Digest username="bob", realm="biloxi.example.com",'
            ' nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="sip:registrar.biloxi.example.com",'
            ' response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b",'
            ' opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001',
            "Expires: 7200",
            "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY",
            "User-Agent: ExamplePhone/4.2",
        ),
    ),
    Sample(
        "invite_sdp.sip",
        "INVITE sip:bob@client.biloxi.example.com:5060 SIP/2.0",
        (
            *INVITE_VIAS,
            "Max-Forwards: 68",
            "Route: <sip:edge1.biloxi.example.com;lr>",
            "Route: <sip:edge2.biloxi.example.com;lr;transport=udp>",
            *INVITE_RECORD_ROUTES,
            INVITE_TO,
            INVITE_FROM,
            f"Call-ID: {INVITE_CALL_ID}",
            "CSeq: 314159 INVITE",
            "Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>",
            "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, UPDATE",
            "Supported: replaces, timer, 100rel",
            "User-Agent: ExamplePhone/4.2",
            "Content-Type: application/sdp",
        ),
        SDP_OFFER,
    ),
    Sample(
        "ringing_180.sip",
        "SIP/2.0 180 Ringing",
        (
            *INVITE_VIAS,
            *INVITE_RECORD_ROUTES,
            DIALOG_TO,
            INVITE_FROM,
            f"Call-ID: {INVITE_CALL_ID}",
            "CSeq: 314159 INVITE",
            "Contact: <sip:bob@client.biloxi.example.com:5060>",
        ),
    ),
    Sample(
        "ok_200_invite.sip",
        "SIP/2.0 200 OK",
        (
            *INVITE_VIAS,
            *INVITE_RECORD_ROUTES,
            DIALOG_TO,
            INVITE_FROM,
            f"Call-ID: {INVITE_CALL_ID}",
            "CSeq: 314159 INVITE",
            "Contact: <sip:bob@client.biloxi.example.com:5060>",
            "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY",
            "Supported: replaces, timer",
            "Server: ExampleSoftswitch/1.0",
            "Content-Type: application/sdp",
        ),
        SDP_ANSWER,
    ),
    Sample(
        "ack.sip",
        "ACK sip:bob@client.biloxi.example.com:5060 SIP/2.0",
        (
            "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds9;rport",
            "Max-Forwards: 70",
            "Route: <sip:ss1.atlanta.example.com;lr>",
            "Route: <sip:ss2.biloxi.example.com;lr>",
            DIALOG_TO,
            INVITE_FROM,
            f"Call-ID: {INVITE_CALL_ID}",
            "CSeq: 314159 ACK",
        ),
    ),
    Sample(
        "bye.sip",
        "BYE sip:alice@pc33.atlanta.example.com SIP/2.0",
        (
            "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds10",
            "Max-Forwards: 70",
            "Route: <sip:ss2.biloxi.example.com;lr>",
            "Route: <sip:ss1.atlanta.example.com;lr>",
            "From: Bob <sip:bob@biloxi.example.com>;tag=314159",
            'To: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
            f"Call-ID: {INVITE_CALL_ID}",
            "CSeq: 231 BYE",
            "User-Agent: ExamplePhone/4.2",
        ),
    ),
    Sample(
        "message.sip",
        "MESSAGE sip:user2@domain.example.com SIP/2.0",
        (
            "Via: SIP/2.0/TCP user1pc.domain.example.com;branch=z9hG4bK776sgdkse",
            "Max-Forwards: 70",
            "From: sip:user1@domain.example.com;tag=49583",
            "To: sip:user2@domain.example.com",
            "Call-ID: asd88asd77a@1.2.3.4",
            "CSeq: 1 MESSAGE",
            "Content-Type: text/plain",
        ),
        "Watson, come here.",
    ),
    Sample(
        "subscribe.sip",
        "SUBSCRIBE sip:alice@atlanta.example.com SIP/2.0",
        (
            "Via: SIP/2.0/TCP watcherhost.example.com:5060;branch=z9hG4bKnashds11",
            "Max-Forwards: 70",
            "To: <sip:alice@atlanta.example.com>",
            "From: <sip:bob@biloxi.example.com>;tag=xfg9",
            "Call-ID: 2010@watcherhost.example.com",
            "CSeq: 17766 SUBSCRIBE",
            "Contact: <sip:bob@watcherhost.example.com;transport=tcp>",
            "Event: presence",
            "Expires: 3600",
            "Accept: application/pidf+xml, application/xpidf+xml",
            "Allow-Events: presence",
            "Supported: eventlist",
        ),
    ),
    Sample(
        "notify_pidf.sip",
        "NOTIFY sip:bob@watcherhost.example.com;transport=tcp SIP/2.0",
        (
            "Via: SIP/2.0/TCP server.atlanta.example.com:5060;branch=z9hG4bKna998sk",
            "Max-Forwards: 70",
            "From: <sip:alice@atlanta.example.com>;tag=ffd2",
            "To: <sip:bob@biloxi.example.com>;tag=xfg9",
            "Call-ID: 2010@watcherhost.example.com",
            "CSeq: 8775 NOTIFY",
            "Contact: <sip:alice@server.atlanta.example.com;transport=tcp>",
            "Event: presence",
            "Subscription-State: active;expires=3599",
            "Content-Type: application/pidf+xml",
        ),
        PIDF_OPEN,
    ),
    Sample(
        "publish.sip",
        "PUBLISH sip:alice@atlanta.example.com SIP/2.0",
        (
            "Via: SIP/2.0/UDP pua.atlanta.example.com:5060;branch=z9hG4bK652hsge",
            "Max-Forwards: 70",
            "To: <sip:alice@atlanta.example.com>",
            "From: <sip:alice@atlanta.example.com>;tag=1234wxyz",
            "Call-ID: 81818181@pua.atlanta.example.com",
            "CSeq: 2 PUBLISH",
            "Event: presence",
            "SIP-If-Match: dx200xyz",
            "Expires: 1800",
            "Content-Type: application/pidf+xml",
        ),
        PIDF_AWAY,
    ),
    Sample(
        "invite_compact.sip",
        "INVITE sip:bob@biloxi.example.com SIP/2.0",
        (
            "v: SIP/2.0/UDP 192.0.2.33:5060;branch=z9hG4bK74bf9;rport",
            "Max-Forwards: 70",
            'f: "Carol" <sip:carol@chicago.example.com>;tag=9fxced76sl',
            "t: <sip:bob@biloxi.example.com>",
            "i: 12345601@192.0.2.33",
            "CSeq: 101 INVITE",
            "m: <sip:carol@192.0.2.33:5060>",
            "k: timer, 100rel",
            "s: Project X",
            "c: application/sdp",
        ),
        SDP_COMPACT,
        content_length_name="l",
    ),
)


def expected_for(sample: Sample) -> dict[str, object]:
    """Derive the ground truth of ``sample`` from its own header lines."""
    fields: dict[str, str] = {}
    for line in sample.headers:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), value.strip())
    via = fields.get("via") or fields["v"]
    sent_by, _, params = via.split(" ", 1)[1].partition(";")
    branch = next(p.split("=", 1)[1] for p in params.split(";") if p.startswith("branch="))
    seq, method = fields["cseq"].split()
    return {
        "call_id": fields.get("call-id") or fields["i"],
        "branch": branch,
        "host": sent_by.split(":", 1)[0],
        "cseq_num": int(seq),
        "cseq_method": method,
    }


def render() -> dict[str, bytes]:
    """Return the corpus as ``{file name: file bytes}`` including expected.json."""
    files = {s.name: s.to_bytes() for s in SAMPLES}
    expected = {s.name: expected_for(s) for s in SAMPLES}
    files["expected.json"] = (json.dumps(expected, indent=2) + "\n").encode("utf-8")
    return files


def main(argv: list[str] | None = None) -> int:
    """Write the corpus, or with ``--check`` verify the files on disk match."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = [
            n
            for n, b in files.items()
            if not (CORPUS_DIR / n).is_file() or (CORPUS_DIR / n).read_bytes() != b
        ]
        for name in stale:
            print(f"stale or missing: {name}", file=sys.stderr)
        return 1 if stale else 0
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (CORPUS_DIR / name).write_bytes(data)
    print(f"wrote {len(files)} files to {CORPUS_DIR.name}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
