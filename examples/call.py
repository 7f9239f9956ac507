"""A call and a desktop-sharing session through a sipstack server.

Alice invites Bob to an audio session; Bob answers.  Alice puts the call
on hold and resumes it (each a re-INVITE with a new offer), then hangs up.
Then Alice shares her desktop with Bob, grants him control of it and takes
control back.  Only the signalling is shown: no media flows.

Run it against a local server::

    export SIPSTACK_PASSWORD=secret
    sipstack users add alice --data-dir D
    sipstack users add bob --data-dir D
    sipstack server --data-dir D --listen 127.0.0.1:5060 --domain localhost
    python examples/call.py --server 127.0.0.1:5060
"""

from __future__ import annotations

import asyncio

from _common import TIMEOUT, arguments, next_of, parse, user

from sipstack.sdp import (
    Media,
    SessionDescription,
    audio_media,
    desktop_sharing_media,
    hold,
    make_answer,
    make_offer,
    parse_sdp,
    resume,
)
from sipstack.ua import (
    Call,
    CallEnded,
    CallUpdated,
    ControlChanged,
    IncomingCall,
    Peer,
)


def direction(sdp: bytes) -> str:
    """The direction of the first media stream of a session description."""
    desc = parse_sdp(sdp)
    return desc.direction_of(desc.media[0])


async def control_of(bob: Peer) -> str:
    """What Bob may do with the shared desktop, once he is told of a change."""
    change = await next_of(bob, ControlChanged)
    return "controls" if change.granted else "only watches"


async def invite(alice: Peer, bob: Peer, to: str, offer: SessionDescription, accept: Media) -> Call:
    """Alice calls ``to`` with ``offer``; Bob answers, accepting the stream
    ``accept`` describes.  Returns Alice's side of the answered call."""
    calling = asyncio.ensure_future(alice.call(to, bytes(offer), timeout=TIMEOUT))
    incoming = (await next_of(bob, IncomingCall)).call
    answer = make_answer(parse_sdp(incoming.remote_sdp), "127.0.0.1", [accept])
    await incoming.accept(bytes(answer), wait_ack=TIMEOUT)
    return await calling


async def main() -> None:
    """The audio call, then the desktop-sharing session."""
    args = parse(arguments(__doc__))
    bob_uri = f"sip:bob@{args.domain}"
    async with user("alice", args) as alice, user("bob", args) as bob:
        offer = make_offer("127.0.0.1", [audio_media(40000)])
        call = await invite(alice, bob, bob_uri, offer, accept=audio_media(40002))
        print(f"alice called bob: answered, audio {direction(call.remote_sdp)}")

        held = hold(offer)
        await call.update(bytes(held))
        seen = await next_of(bob, CallUpdated)
        print(f"alice put the call on hold: bob is offered audio {direction(seen.call.remote_sdp)}")

        await call.update(bytes(resume(held)))
        seen = await next_of(bob, CallUpdated)
        print(f"alice resumed the call: bob is offered audio {direction(seen.call.remote_sdp)}")

        await call.hangup()
        ended = await next_of(bob, CallEnded)
        print(f"alice hung up: bob's call ended ({ended.reason}, by_remote={ended.by_remote})")

        sharing = make_offer("127.0.0.1", [desktop_sharing_media(40010)])
        # Bob connects to Alice's desktop (RFC 4145: the active side).
        accept = desktop_sharing_media(40012, setup="active")
        share = await invite(alice, bob, bob_uri, sharing, accept)
        proto = parse_sdp(share.remote_sdp).media[0].proto
        print(f"alice shares her desktop with bob: answered, {proto}")

        await share.grant_control()
        print(f"alice granted control: bob {await control_of(bob)} her desktop")
        await share.revoke_control()
        print(f"alice took control back: bob {await control_of(bob)} her desktop")

        await share.hangup()
        ended = await next_of(bob, CallEnded)
        print(f"alice stopped sharing: bob's session ended ({ended.reason})")


if __name__ == "__main__":
    asyncio.run(main())
