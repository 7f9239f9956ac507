"""The ``sipstack`` command line.

``sipstack parse FILE`` parses a SIP message (or, with ``--stream``, a byte
stream of several) and pretty-prints it with its typed headers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import __version__
from .errors import SIPParseError
from .message import Message, Ping, Pong, Request, StreamFramer, parse

__all__ = ["main"]

# The typed views shown by ``sipstack parse``, in display order.
_VIEWS = (
    "call_id", "cseq", "from_addr", "to_addr", "vias", "contacts", "routes", "record_routes",
    "max_forwards", "content_type", "content_length", "expires", "event",
    "subscription_state", "allow", "supported", "require", "sip_etag", "sip_if_match",
    "authorization", "www_authenticate", "proxy_authorization", "proxy_authenticate",
    "retry_after", "date",
)  # fmt: skip


def _show(value: object) -> object:
    if isinstance(value, tuple):
        return [_show(v) for v in value]
    if value is None or isinstance(value, int | str):
        return value
    return str(value)


def describe(msg: Message) -> dict[str, object]:
    """A JSON-ready description of a message: start line, headers as
    received, typed views of the headers it carries, body length and type."""
    msg.validate()
    typed: dict[str, object] = {}
    for name in _VIEWS:
        value = getattr(msg, name)
        if value not in (None, ()):
            typed[name] = _show(value)
    if isinstance(msg, Request):
        typed["request_uri"] = str(msg.uri)
    body = msg.body
    return {
        "start_line": msg.start_line,
        "headers": [[n, v] for n, v in msg.headers],
        "typed": typed,
        "body_length": len(body),
        "body": body.decode("utf-8", "replace"),
    }


def _print_text(desc: dict[str, object], out: list[str]) -> None:
    out.append(str(desc["start_line"]))
    for name, value in desc["headers"]:  # type: ignore[attr-defined]
        out.append(f"  {name}: {value}")
    out.append("  -- typed --")
    for key, value in desc["typed"].items():  # type: ignore[attr-defined]
        out.append(f"  {key:<20} {value}")
    out.append(f"  -- body: {desc['body_length']} bytes --")
    if desc["body_length"]:
        out.extend("  | " + line for line in str(desc["body"]).splitlines())


def _cmd_parse(args: argparse.Namespace) -> int:
    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(args.file, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            print(f"sipstack: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 2
    try:
        if args.stream:
            framer = StreamFramer()
            events = framer.feed(data)
            if framer.buffered:
                print(
                    f"sipstack: {framer.buffered} trailing bytes do not complete a message",
                    file=sys.stderr,
                )
            messages: list[Message] = [e for e in events if not isinstance(e, Ping | Pong)]
        else:
            messages = [parse(data)]
        descs = [describe(m) for m in messages]
    except SIPParseError as exc:
        print(
            f"sipstack: not a valid SIP message: {exc} (answer: {exc.status} {exc.reason})",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(descs if args.stream else descs[0], indent=2, ensure_ascii=False))
    else:
        out: list[str] = []
        for d in descs:
            _print_text(d, out)
        print("\n".join(out))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``sipstack`` command."""
    p = argparse.ArgumentParser(prog="sipstack", description="An asyncio SIP stack.")
    p.add_argument("--version", action="version", version=f"sipstack {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    pp = sub.add_parser("parse", help="parse a SIP message file and pretty-print it")
    pp.add_argument("file", help="file holding the message ('-' for standard input)")
    pp.add_argument(
        "--stream", action="store_true", help="treat the file as a TCP stream of messages"
    )
    pp.add_argument("--json", action="store_true", help="print JSON instead of text")
    pp.set_defaults(func=_cmd_parse)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sipstack`` console script."""
    args = build_parser().parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
