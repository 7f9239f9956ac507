"""Client-side SIP logging: headers and routes, never a body.

The client SIP log is a policy feature, off by default.  Alice turns it on
for herself (an administrator could instead force it on, or off, and lock
it: ``[policy.features] client-log = { value = true, locked = true }`` in
the server's configuration).  She sends Bob a message; the example then
prints a few records of her log — start line, sender and receiver, the
route headers, the body's length and type — and checks that the message
text is in neither of her log files.

Run it against a local server::

    export SIPSTACK_PASSWORD=secret
    sipstack users add alice --data-dir D
    sipstack users add bob --data-dir D
    sipstack server --data-dir D --listen 127.0.0.1:5060 --domain localhost
    python examples/client_log.py --server 127.0.0.1:5060 [--log alice-sip.jsonl]

Without ``--log`` the log goes to a temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from _common import arguments, next_of, parse, user

from sipstack.policy import Feature, Policy
from sipstack.ua import MessageReceived

SECRET = "The launch code is 0000; do not write this down."
# What the example prints of each record's headers: the route, and the
# credentials (to show that the log masks them).
SHOWN = ("via", "v", "route", "record-route", "authorization", "proxy-authorization")


def state(policy: Policy) -> str:
    """``on (user)``, ``off (default)`` …: the feature and who decided."""
    on = "on" if policy.effective(Feature.CLIENT_LOG) else "off"
    return f"{on} ({policy.explain(Feature.CLIENT_LOG)})"


def about_message(record: dict[str, Any]) -> bool:
    """Whether a log record is a MESSAGE or a response to one."""
    return any(n.lower() == "cseq" and v.endswith(" MESSAGE") for n, v in record["headers"])


def show(record: dict[str, Any]) -> None:
    """Print one record: what, between whom, its route, its body's size."""
    arrow = "->" if record["direction"] == "out" else "<-"
    print(f"{record['local']} {arrow} {record['remote']}: {record['start_line']}")
    for name, value in record["headers"]:
        if name.lower() in SHOWN:
            print(f"    {name}: {value}")
    print(f"    body: {record['body_length']} bytes {record['content_type'] or ''}".rstrip())


async def exchange(log: Path, args: argparse.Namespace) -> None:
    """Alice, logging to ``log``, sends Bob the secret message."""
    policy = Policy()
    print(f"alice's client log: {state(policy)}")
    # The user's own choice; refused (PolicyLocked) had the administrator
    # locked the feature.
    policy.set_user(Feature.CLIENT_LOG, True)
    print(f"alice turns it on: {state(policy)}")
    async with user("alice", args, policy=policy, sip_log=log) as alice, user("bob", args) as bob:
        await alice.message(str(bob.aor), SECRET)
        await next_of(bob, MessageReceived)
    # Closing the peer wrote out what the log buffers.


def main() -> None:
    """Log one exchange, print it, prove the body is not there."""
    parser = arguments(__doc__)
    parser.add_argument("--log", type=Path, help="where Alice's JSON-lines log goes")
    args = parse(parser)
    with tempfile.TemporaryDirectory() as tmp:
        log: Path = args.log or Path(tmp) / "alice-sip.jsonl"
        asyncio.run(exchange(log, args))
        records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        # Records of events (signed in, signed out) have no start line.
        messages = [r for r in records if "start_line" in r and about_message(r)]
        print(f"{len(records)} records in {log.name}; those of the MESSAGE:")
        for record in messages:
            show(record)
        # The JSON log and its human-readable twin (same name, .log).
        for path in (log, log.with_suffix(".log")):
            if SECRET.encode() in path.read_bytes():
                raise SystemExit(f"the message text leaked into {path}")
        print(f"the message text is in neither {log.name} nor {log.with_suffix('.log').name}")


if __name__ == "__main__":
    main()
