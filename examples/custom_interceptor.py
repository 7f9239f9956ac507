"""Custom interceptors: tag what leaves, redact a header, see the effect.

An interceptor sees every message its peer sends and receives and may
change it.  Alice adds two of her own: one tags each request she sends with
an ``X-Example-Tag`` header, the other redacts her ``User-Agent`` header
(which names her software).  Bob has an interceptor too, one that only
watches: it keeps the headers of each MESSAGE that reaches him, so the
example can print what he really received — before Alice added hers and
after.

Run it against a local server::

    export SIPSTACK_PASSWORD=secret
    sipstack users add alice --data-dir D
    sipstack users add bob --data-dir D
    sipstack server --data-dir D --listen 127.0.0.1:5060 --domain localhost
    python examples/custom_interceptor.py --server 127.0.0.1:5060
"""

from __future__ import annotations

import asyncio

from _common import arguments, next_of, parse, user

from sipstack.endpoint import HookPoint, MessageInfo, Verdict
from sipstack.interceptors import Interceptor
from sipstack.message import Headers, Request, Response
from sipstack.ua import MessageReceived, Peer


class TagRequests(Interceptor):
    """Put ``name: value`` on every request this peer sends."""

    # TU_OUT: once per request, before the transaction layer keeps it (the
    # wire points would also see retransmissions).
    points = (HookPoint.TU_OUT,)

    def __init__(self, name: str, value: str) -> None:
        self.header, self.value = name, value

    def on_message(self, message: Request | Response, info: MessageInfo) -> Verdict:
        """Tag requests; let everything go on."""
        if isinstance(message, Request):
            # set, not add: a request sent again with credentials after a
            # 407 passes here again and must still carry one tag.
            message.headers.set(self.header, self.value)
        return None


class RedactHeader(Interceptor):
    """Replace the value of one header in the requests and responses this
    peer sends (an ACK to a 2xx leaves without a transaction, so only the
    wire points see it)."""

    points = (HookPoint.TU_OUT,)

    def __init__(self, name: str) -> None:
        self.header = name

    def on_message(self, message: Request | Response, info: MessageInfo) -> Verdict:
        """Redact the header where it is present."""
        if self.header in message.headers:
            message.headers.set(self.header, "redacted")
        return None


class KeepMessageHeaders(Interceptor):
    """Remember the headers of each MESSAGE that arrives, by Call-ID (an
    observer: it changes nothing)."""

    points = (HookPoint.WIRE_IN,)

    def __init__(self) -> None:
        self.by_call_id: dict[str, Headers] = {}

    def on_message(self, message: Request | Response, info: MessageInfo) -> Verdict:
        """Keep a copy of the headers of an incoming MESSAGE."""
        if isinstance(message, Request) and message.method == "MESSAGE":
            self.by_call_id[message.call_id] = message.headers.copy()
        return None


async def send_and_show(alice: Peer, bob: Peer, kept: KeepMessageHeaders, text: str) -> None:
    """Alice sends ``text``; print the two headers as Bob got them."""
    await alice.message(f"sip:bob@{bob.aor.host}", text)
    got = await next_of(bob, MessageReceived)
    headers = kept.by_call_id[got.call_id]
    print(f"bob got {got.text!r}")
    for name in ("User-Agent", "X-Example-Tag"):
        print(f"  {name}: {headers.get(name) or '(absent)'}")


async def main() -> None:
    """One message before Alice's interceptors, one after."""
    args = parse(arguments(__doc__))
    kept = KeepMessageHeaders()
    # Interceptors given to the constructor run from the start...
    async with user("alice", args) as alice, user("bob", args, interceptors=[kept]) as bob:
        await send_and_show(alice, bob, kept, "before the interceptors")

        # ...and more may be added to a running peer, after those it has.
        alice.interceptors.add(TagRequests("X-Example-Tag", "sent-through-an-interceptor"))
        alice.interceptors.add(RedactHeader("User-Agent"))
        print("alice added her two interceptors")
        await send_and_show(alice, bob, kept, "after the interceptors")


if __name__ == "__main__":
    asyncio.run(main())
