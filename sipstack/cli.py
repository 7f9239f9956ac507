"""The ``sipstack`` command line.

``sipstack parse FILE`` parses a SIP message (or, with ``--stream``, a byte
stream of several) and pretty-prints it with its typed headers.

``sipstack certs`` writes a development CA and server and client
certificates signed by it, for trying out TLS.

``sipstack server`` runs the registrar, proxy, presence server and
conversation focus; ``sipstack users add|passwd|remove|list`` manages its
accounts, ``sipstack access set|list`` its users' access levels (read
when the server starts; a user's own in-band change applies at once) and
``sipstack archive search|export|purge`` the archive that
``sipstack server --archive`` keeps.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import SIPParseError, SIPUsageError
from .message import Message, Ping, Pong, Request, StreamFramer, parse

if TYPE_CHECKING:
    from .server import ServerConfig
    from .storage import SQLiteStore

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


def _cmd_certs(args: argparse.Namespace) -> int:
    # Imported here so that the other subcommands do not pay for loading
    # the cryptography package.
    from .certs import DEFAULT_HOSTS, write_dev_certificates

    out = Path(args.out)
    hosts: list[str] = args.hosts or list(DEFAULT_HOSTS)
    had_ca = (out / "ca.pem").exists() and not args.force
    try:
        paths = write_dev_certificates(out, hosts, overwrite=args.force)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.filename and Path(exc.filename) != out:
            reason = f"{exc.filename}: {reason}"
        print(f"sipstack: cannot write certificates to {out}: {reason}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"sipstack: {exc}", file=sys.stderr)
        return 2
    print(f"development certificates in {out} for {', '.join(hosts)}:")
    if had_ca:
        print("  (kept the existing CA; --force makes a new one)")
    for label, path in (
        ("CA certificate", paths.ca_cert),
        ("CA key", paths.ca_key),
        ("server certificate", paths.server_cert),
        ("server key", paths.server_key),
        ("client certificate", paths.client_cert),
        ("client key", paths.client_key),
    ):
        print(f"  {label:<20} {path}")
    print(
        f"hint: serve TLS with {paths.server_cert} and {paths.server_key}, and have clients "
        f"trust {paths.ca_cert} (never a production CA)"
    )
    return 0


def _server_config(args: argparse.Namespace) -> ServerConfig:
    from .server import ServerConfig, load_config, parse_hostport

    cfg = ServerConfig()
    if args.config:
        cfg = load_config(Path(args.config), cfg)
    if args.data_dir:
        cfg.data_dir = Path(args.data_dir)
    if getattr(args, "domains", None):
        cfg.domains = list(args.domains)
    if getattr(args, "listen", None):
        cfg.listen = [parse_hostport(x) for x in args.listen]
    # Mandatory archiving is archiving: the one flag implies the other.
    if getattr(args, "archive", False) or getattr(args, "archive_mandatory", False):
        from .policy import Feature

        # The administrator's switch: on, and no user can turn it off.
        cfg.policy.set_admin(Feature.ARCHIVE, True, locked=True)
    if getattr(args, "archive_mandatory", False):
        cfg.archive_mandatory = True
    return cfg


def _cmd_server(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from .server import run_server

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        cfg = _server_config(args)
        asyncio.run(run_server(cfg))
    except SIPUsageError as exc:
        print(f"sipstack: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"sipstack: cannot start the server: {exc}", file=sys.stderr)
        return 2
    return 0


def _password(args: argparse.Namespace) -> str:
    import getpass
    import os

    if args.password is not None:
        return str(args.password)
    env = os.environ.get("SIPSTACK_PASSWORD")
    if env:
        return env
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SIPUsageError("the passwords differ")
    return first


def _open_store(args: argparse.Namespace) -> tuple[ServerConfig, SQLiteStore] | None:
    """The configuration and the store the command's flags name, or None
    after saying why not."""
    from .storage import open_store

    try:
        cfg = _server_config(args)
        return cfg, open_store(cfg.data_dir)
    except (SIPUsageError, OSError) as exc:
        print(f"sipstack: {exc}", file=sys.stderr)
        return None


def _cmd_users(args: argparse.Namespace) -> int:
    import asyncio

    from .server import add_user

    opened = _open_store(args)
    if opened is None:
        return 2
    cfg, store = opened

    async def run() -> int:
        try:
            if args.action in ("add", "passwd"):
                exists = await store.accounts.get(args.username) is not None
                if args.action == "passwd" and not exists:
                    print(f"sipstack: no user {args.username}", file=sys.stderr)
                    return 1
                await add_user(store, args.username, _password(args), cfg.realm, args.display_name)
                print(f"{'changed' if exists else 'added'} {args.username}@{cfg.realm}")
            elif args.action == "remove":
                if not await store.accounts.remove(args.username):
                    print(f"sipstack: no user {args.username}", file=sys.stderr)
                    return 1
                print(f"removed {args.username}")
            else:
                for account in await store.accounts.all():
                    name = f' "{account.display_name}"' if account.display_name else ""
                    print(f"{account.username}@{account.realm}{name}")
            return 0
        except SIPUsageError as exc:
            print(f"sipstack: {exc}", file=sys.stderr)
            return 2
        finally:
            await store.close()

    return asyncio.run(run())


def _cmd_access(args: argparse.Namespace) -> int:
    import asyncio

    from .presence import AccessLevel, aor_key

    opened = _open_store(args)
    if opened is None:
        return 2
    cfg, store = opened

    def aor(name: str) -> str:
        return aor_key(
            name if ":" in name else f"sip:{name}@{cfg.realm}" if "@" not in name else f"sip:{name}"
        )

    async def run() -> int:
        try:
            owner = aor(args.owner)
            if args.action == "set":
                level = args.level.upper()
                if level not in AccessLevel.__members__:
                    names = ", ".join(m.lower() for m in AccessLevel.__members__)
                    print(f"sipstack: the level is one of {names}", file=sys.stderr)
                    return 2
                await store.access.set(owner, aor(args.watcher), int(AccessLevel[level]))
                print(f"{aor(args.watcher)} sees {owner} at level {level.lower()}")
            else:
                for (who, watcher), value in sorted((await store.access.load()).items()):
                    if who == owner:
                        print(f"{watcher} {AccessLevel(value).name.lower()}")
            return 0
        finally:
            await store.close()

    return asyncio.run(run())


def _when(text: str | None) -> float | None:
    """An ISO date or date-time (UTC unless it says) as epoch seconds."""
    import datetime as _dt

    if text is None:
        return None
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise SIPUsageError(
            f"{text!r} is not an ISO date (2026-11-29 or 2026-11-29T10:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.timestamp()


def _cmd_archive(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import csv
    import datetime as _dt
    import time

    from .storage import ArchiveRecord

    opened = _open_store(args)
    if opened is None:
        return 2
    _, store = opened

    def row(r: ArchiveRecord) -> dict[str, object]:
        return {
            "time": _dt.datetime.fromtimestamp(r.time, _dt.UTC).isoformat(),
            "kind": r.kind,
            "sender": r.sender,
            "recipient": r.recipient,
            "conversation": r.conversation,
            "content_type": r.content_type,
            "body": r.body.decode("utf-8", "replace"),
            "call_id": r.call_id,
        }

    async def run() -> int:
        try:
            if args.action == "purge":
                if args.older_than < 0:
                    raise SIPUsageError("--older-than takes a number of days >= 0")
                gone = await store.archive.purge(time.time() - args.older_than * 86400)
                print(f"purged {gone} records older than {args.older_than:g} days")
                return 0
            records = await store.archive.search(
                user=args.user, peer=args.peer, since=_when(args.since),
                until=_when(args.until), text=args.text, limit=args.limit,
            )  # fmt: skip
            with contextlib.ExitStack() as stack:
                out = sys.stdout
                if args.out:
                    out = stack.enter_context(open(args.out, "w", encoding="utf-8", newline=""))
                if getattr(args, "format", "jsonl") == "csv":
                    fields = list(row(ArchiveRecord(0, "", "", "")).keys())
                    writer = csv.DictWriter(out, fieldnames=fields)
                    writer.writeheader()
                    for r in records:
                        writer.writerow(row(r))
                else:
                    for r in records:
                        out.write(json.dumps(row(r), ensure_ascii=False) + "\n")
            return 0
        except SIPUsageError as exc:
            print(f"sipstack: {exc}", file=sys.stderr)
            return 2
        finally:
            await store.close()

    return asyncio.run(run())


def _cmd_chat(args: argparse.Namespace) -> int:
    from .chat import ChatOptions, run_chat

    return run_chat(
        ChatOptions(
            aor=args.aor, server=args.server, transport=args.transport,
            data_dir=Path(args.data_dir) if args.data_dir else None,
            ca_file=Path(args.ca_file) if args.ca_file else None, verbose=args.verbose,
        )
    )  # fmt: skip


def _cmd_stats(args: argparse.Namespace) -> int:
    path = Path(args.data_dir) / "stats.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"no statistics in {args.data_dir} (they are kept only after opting in)")
        return 1
    except (OSError, ValueError) as exc:
        print(f"sipstack: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    counts = data.get("counts", {})
    width = max((len(k) for k in counts), default=0)
    for key, value in counts.items():
        print(f"{key:<{width}}  {value}")
    latency = data.get("latency_ms", {})
    bounds = latency.get("buckets", [])
    for method, buckets in latency.get("by_method", {}).items():
        cells = [f"<={b}ms:{n}" for b, n in zip(bounds, buckets, strict=False) if n]
        if len(buckets) > len(bounds) and buckets[-1]:
            cells.append(f">{bounds[-1]}ms:{buckets[-1]}")
        print(f"latency {method}: {' '.join(cells)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo()


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
    pc = sub.add_parser(
        "certs", help="write a development CA and TLS server and client certificates"
    )
    pc.add_argument(
        "--out", default="certs", metavar="DIR", help="directory to write to (default: ./certs)"
    )
    pc.add_argument(
        "--host",
        action="append",
        dest="hosts",
        metavar="NAME",
        help="DNS name or IP address to certify; repeatable (default: localhost 127.0.0.1 ::1)",
    )
    pc.add_argument("--force", action="store_true", help="replace existing files, the CA included")
    pc.set_defaults(func=_cmd_certs)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="TOML configuration file")
    common.add_argument(
        "--data-dir", metavar="DIR", help="where the data lives (default: ./sipstack-data)"
    )
    common.add_argument(
        "--domain", action="append", dest="domains", metavar="NAME",
        help="a domain served (repeatable; default: localhost)",
    )  # fmt: skip

    ps = sub.add_parser(
        "server", parents=[common], help="run the registrar, proxy and presence server"
    )
    ps.add_argument(
        "--listen", action="append", metavar="HOST:PORT",
        help="UDP and TCP on PORT, TLS on PORT+1 (repeatable; default 127.0.0.1:5060)",
    )  # fmt: skip
    ps.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    ps.add_argument(
        "--archive", action="store_true",
        help="archive instant messages, conversations and sign-ins (administrator switch)",
    )  # fmt: skip
    ps.add_argument(
        "--archive-mandatory", action="store_true",
        help="archive, and refuse (503) a MESSAGE that cannot be archived (implies --archive)",
    )  # fmt: skip
    ps.set_defaults(func=_cmd_server)
    pu = sub.add_parser("users", help="manage the server's accounts")
    us = pu.add_subparsers(dest="action", required=True)
    for action, text in (("add", "add a user"), ("passwd", "change a password")):
        pa = us.add_parser(action, parents=[common], help=text)
        pa.add_argument("username")
        pa.add_argument("--password", help="the password (else $SIPSTACK_PASSWORD, else a prompt)")
        pa.add_argument("--display-name", help="the user's display name")
    us.add_parser("remove", parents=[common], help="remove a user").add_argument("username")
    us.add_parser("list", parents=[common], help="list the users")
    pu.set_defaults(func=_cmd_users)
    pa = sub.add_parser("access", help="set or list the access levels users gave their watchers")
    acts = pa.add_subparsers(dest="action", required=True)
    ps_ = acts.add_parser(
        "set", parents=[common],
        help="give WATCHER LEVEL (blocked, public, company, team, personal) for OWNER",
    )  # fmt: skip
    ps_.add_argument("owner", help="the user whose presence is watched (name or URI)")
    ps_.add_argument("watcher", help="the watcher (name or URI)")
    ps_.add_argument("level")
    pl = acts.add_parser("list", parents=[common], help="the levels OWNER gave")
    pl.add_argument("owner")
    pa.set_defaults(func=_cmd_access)
    parc = sub.add_parser("archive", help="search, export or purge the server archive")
    arc = parc.add_subparsers(dest="action", required=True)
    for action, text in (("search", "find archived records"), ("export", "write them out")):
        sp = arc.add_parser(action, parents=[common], help=text)
        sp.add_argument("--user", help="sender or recipient (a URI)")
        sp.add_argument("--peer", help="the other side or the conversation (a URI)")
        sp.add_argument("--since", help="ISO date or date-time (UTC unless given)")
        sp.add_argument("--until", help="ISO date or date-time, exclusive")
        sp.add_argument("--text", help="text the message contains")
        sp.add_argument("--limit", type=int, default=100_000)
        sp.add_argument("--out", help="a file instead of standard output")
        if action == "export":
            sp.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    pp_ = arc.add_parser("purge", parents=[common], help="delete old records (retention)")
    pp_.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    parc.set_defaults(func=_cmd_archive)
    pch = sub.add_parser(
        "chat", help="sign in and chat, call and share presence (password: $SIPSTACK_PASSWORD)"
    )
    pch.add_argument("aor", help="your address, e.g. sip:alice@example.com")
    pch.add_argument(
        "--server", metavar="HOST:PORT", help="the server to sign in at (default: your domain)"
    )
    pch.add_argument("--transport", choices=["udp", "tcp", "tls"], default="udp")
    pch.add_argument(
        "--data-dir", metavar="DIR", help="keep the call log, history and SIP log here"
    )
    pch.add_argument("--ca-file", metavar="FILE", help="CA of the server's TLS certificate")
    pch.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    pch.set_defaults(func=_cmd_chat)
    pst = sub.add_parser("stats", help="print a peer's opted-in usage statistics")
    pst.add_argument("--data-dir", required=True, metavar="DIR", help="the peer's data directory")
    pst.set_defaults(func=_cmd_stats)
    pdemo = sub.add_parser(
        "demo", help="run a server and two users here: a message, a presence change and a call"
    )
    pdemo.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sipstack`` console script."""
    args = build_parser().parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
