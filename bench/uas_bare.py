"""Bare asyncio responder: an upper bound for a Python UAS answering MESSAGE.

Usage::

    python bench/uas_bare.py --host 127.0.0.1 --port PORT [--uvloop]

No SIP stack and no transaction state: each datagram that is a MESSAGE
request is split into lines, the Via, From, To, Call-ID and CSeq header lines
(full or compact names) are copied into a 200 OK (a To tag is added when the
request has none, RFC 3261 §8.2.6.2), and the answer goes back to the source
address of the datagram.  Anything else is ignored.  It prints ``READY`` once
the socket is bound.  This is the least work a Python UAS can do per request,
so it bounds from above what any Python stack can reach on this loop.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import cast

import uas_cli

ECHOED = frozenset({b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq"})
"""Lower-cased header names copied from the request into the response."""
TO_NAMES = frozenset({b"to", b"t"})


class BareResponder(asyncio.DatagramProtocol):
    """Answers every MESSAGE datagram with a 200 built from the echoed headers."""

    def __init__(self) -> None:
        """Start with no transport; the tag counter makes To tags unique."""
        self.transport: asyncio.DatagramTransport | None = None
        self._tags = itertools.count(1)
        self._tag_prefix = b";tag=bare%x." % os.getpid()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the datagram transport for sending answers."""
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        """Answer a MESSAGE request; drop anything else."""
        if not data.startswith(b"MESSAGE ") or self.transport is None:
            return
        head = data.split(b"\r\n\r\n", 1)[0]
        out = [b"SIP/2.0 200 OK"]
        for line in head.split(b"\r\n")[1:]:
            name = line.split(b":", 1)[0].strip().lower()
            if name in ECHOED:
                if name in TO_NAMES and b";tag=" not in line:
                    line += self._tag_prefix + b"%d" % next(self._tags)
                out.append(line)
        out.append(b"Content-Length: 0\r\n\r\n")
        self.transport.sendto(b"\r\n".join(out), addr)


async def serve(host: str, port: int) -> None:
    """Bind the responder, print READY and answer until killed."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(BareResponder, local_addr=(host, port))
    try:
        print("READY", flush=True)
        await asyncio.Event().wait()
    finally:
        transport.close()


def main() -> None:
    """Parse the command line and serve on asyncio or uvloop."""
    uas_cli.run(serve, __doc__ or "")


if __name__ == "__main__":
    main()
