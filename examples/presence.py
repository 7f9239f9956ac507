"""Rich presence and access levels through a sipstack server.

Alice publishes a rich status (availability, note, job title, work and
mobile phones, out of office); Bob watches her.  Alice then changes the
access level she gives Bob — Public, Personal, Blocked — and Bob prints
what the server now lets him see at each level.

Run it against a local server::

    export SIPSTACK_PASSWORD=secret
    sipstack users add alice --data-dir D
    sipstack users add bob --data-dir D
    sipstack server --data-dir D --listen 127.0.0.1:5060 --domain localhost
    python examples/presence.py --server 127.0.0.1:5060
"""

from __future__ import annotations

import asyncio
import datetime as dt

from _common import arguments, next_of, parse, user

from sipstack.presence import AccessLevel, Availability, OutOfOffice, Presence
from sipstack.ua import Peer, PresenceChanged


def describe(seen: Presence) -> str:
    """What a watcher sees, one field after the other (absent ones left out)."""
    parts = [str(seen.availability)]
    for label, value in (
        ("note", seen.note),
        ("title", seen.title),
        ("work", seen.work_phone),
        ("mobile", seen.mobile_phone),
    ):
        if value is not None:
            parts.append(f"{label}: {value}")
    ooo = seen.out_of_office
    if ooo is not None:
        message = f" ({ooo.message})" if ooo.message else ""
        parts.append(f"out of office{message}")
    return ", ".join(parts)


async def next_view(bob: Peer) -> Presence:
    """The next presence document Bob receives about Alice."""
    return (await next_of(bob, PresenceChanged)).presence


async def main() -> None:
    """Alice publishes and changes Bob's level; Bob reports what he sees."""
    args = parse(arguments(__doc__))
    alice_uri = f"sip:alice@{args.domain}"
    bob_uri = f"sip:bob@{args.domain}"
    async with user("alice", args) as alice, user("bob", args) as bob:
        status = Presence(
            alice_uri,
            Availability.AWAY,
            note="At a conference this week",
            title="Engineer",
            work_phone="+1 555 0100",
            mobile_phone="+1 555 0101",
            out_of_office=OutOfOffice(
                message="Back on Monday; ask Carol meanwhile",
                until=dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
            ),
        )
        await alice.presence.publish(status)
        print(f"alice published: {describe(status)}")

        # Company is the default for a watcher of the same domain; set it
        # anyway, in case a run that failed halfway left another level.
        await alice.presence.set_access(bob_uri, AccessLevel.COMPANY)
        await bob.presence.watch(alice_uri)
        print(f"bob sees (company): {describe(await next_view(bob))}")

        for level in (AccessLevel.PUBLIC, AccessLevel.PERSONAL, AccessLevel.BLOCKED):
            await alice.presence.set_access(bob_uri, level)
            # The server sends Bob a NOTIFY filtered for his new level at once.
            print(f"bob sees ({level.name.lower()}): {describe(await next_view(bob))}")

        # The server keeps the level: leave Bob where a fresh run starts him.
        await alice.presence.set_access(bob_uri, AccessLevel.COMPANY)
        print("alice gives bob the company level back")


if __name__ == "__main__":
    asyncio.run(main())
