"""Server archiving: switched on by the administrator, searched from the
command line.

Archiving is off unless the administrator turns it on, either with
``sipstack server --archive`` or in the server's configuration file::

    [policy.features]
    archive = { value = true, locked = true }

Alice and Bob exchange a few messages through the server; the example
then runs ``sipstack archive search`` on the server's data directory and
prints what the archive holds: every message with its sender, recipient and
text, and the sign-ins.

Run it against a local server with archiving on::

    export SIPSTACK_PASSWORD=secret
    sipstack users add alice --data-dir D
    sipstack users add bob --data-dir D
    sipstack server --data-dir D --listen 127.0.0.1:5060 --domain localhost --archive
    python examples/archive.py --server 127.0.0.1:5060 --data-dir D
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from _common import TIMEOUT, arguments, next_of, parse, user

from sipstack.ua import MessageReceived


async def archive_search(data_dir: str, *criteria: str) -> list[dict[str, str]]:
    """Run ``sipstack archive search`` and return its records (JSON lines)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sipstack", "archive", "search", "--data-dir", data_dir, *criteria,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 3 * TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"sipstack archive search failed: {err.decode().strip()}")
    return [json.loads(line) for line in out.decode().splitlines()]


async def main() -> int:
    """Talk, then search the archive for what was said."""
    parser = arguments(__doc__)
    parser.add_argument(
        "--data-dir", default="sipstack-data", metavar="DIR",
        help="the server's data directory (default: ./sipstack-data, as the server's)",
    )  # fmt: skip
    args = parse(parser)
    # A word of this run only, so that the search finds this run's messages.
    run = uuid.uuid4().hex[:8]
    said = [
        ("alice", "bob", f"Morning Bob, the figures for run {run} are in."),
        ("bob", "alice", f"Thanks, I will read the run {run} figures after lunch."),
    ]
    async with user("alice", args) as alice, user("bob", args) as bob:
        peers = {"alice": alice, "bob": bob}
        for sender, to, text in said:
            # The server archives a MESSAGE before the sender gets its 200.
            await peers[sender].message(f"sip:{to}@{args.domain}", text)
            await next_of(peers[to], MessageReceived)
            print(f"{sender} -> {to}: {text}")

    found = await archive_search(args.data_dir, "--text", run)
    print(f"sipstack archive search --text {run} finds {len(found)} records:")
    for r in found:
        print(f"  {r['time'][:19]} {r['kind']} {r['sender']} -> {r['recipient']}: {r['body']}")
    hers = await archive_search(args.data_dir, "--user", f"sip:alice@{args.domain}")
    signins = [r for r in hers if r["kind"] == "sign-in"]
    print(f"sipstack archive search --user sip:alice@{args.domain}: {len(signins)} sign-ins")
    if len(found) < len(said):
        print("the archive misses messages: is the server running with --archive?")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
