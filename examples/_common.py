"""What the server examples share: where the server is and the password
(from the command line or the environment), a peer signed in there, and
waiting for one kind of event.

Not an example itself; the examples import it from their own directory.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sipstack.ua import Peer

E = TypeVar("E")

#: How long an example waits for something it expects before giving up.
TIMEOUT = 10.0


def arguments(description: str | None) -> argparse.ArgumentParser:
    """A parser with ``--server``, ``--domain`` and ``--password`` whose
    help shows ``description`` (the example's docstring) as written; an
    example adds its own flags and calls :func:`parse`."""
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--server", default=os.environ.get("SIPSTACK_SERVER", "127.0.0.1:5060"),
        metavar="HOST:PORT", help="the sipstack server (default: $SIPSTACK_SERVER or 127.0.0.1:5060)",
    )  # fmt: skip
    p.add_argument(
        "--domain", default=os.environ.get("SIPSTACK_DOMAIN", "localhost"),
        help="the domain the server serves (default: localhost)",
    )  # fmt: skip
    # The same variable ``sipstack users add`` reads, so one export serves both.
    p.add_argument(
        "--password", default=os.environ.get("SIPSTACK_PASSWORD"),
        help="the password of every example user (default: $SIPSTACK_PASSWORD)",
    )  # fmt: skip
    return p


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The parsed command line, its server address checked."""
    args = parser.parse_args()
    if not args.password:
        parser.error("give --password or set SIPSTACK_PASSWORD")
    host, sep, port = args.server.rpartition(":")
    if not sep or not host or not port.isdigit():
        parser.error(f"--server takes HOST:PORT, not {args.server!r}")
    host = host.strip("[]")
    shown = f"[{host}]" if ":" in host else host
    args.server_uri = f"sip:{shown}:{port}"
    return args


def user(name: str, args: argparse.Namespace, **options: Any) -> Peer:
    """``name``'s peer, signing in at the server and sending everything
    through it (``options`` go to :class:`Peer` as they are)."""
    return Peer(
        f"sip:{name}@{args.domain}",
        password=args.password,
        display_name=name.title(),
        register=True,
        registrar=args.server_uri,
        proxy=f"{args.server_uri};lr",
        **options,
    )


async def next_of(
    peer: Peer,
    kind: type[E],
    match: Callable[[E], bool] = lambda _: True,
    timeout: float = TIMEOUT,
) -> E:
    """The next event of ``kind`` that ``match`` accepts; the events before
    it are dropped.  TimeoutError when none comes in ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        event = await peer.next_event(max(0.0, deadline - time.monotonic()))
        if isinstance(event, kind) and match(event):
            return event
