"""sippy (Sippy B2BUA library) UAS for the MESSAGE load benchmark.

Usage::

    python bench/uas_sippy.py --host 127.0.0.1 --port PORT

Set up the way sippy's own ``b2bua_simple.py`` sets up its stack: a
``global_config`` dict with the listening address, port and a ``SipLogger``,
and a ``SipTransactionManager`` whose request callback answers MESSAGE with
``req.genResponse(200, 'OK')`` (the transaction manager adds the To tag,
keeps the server transaction and answers retransmissions from it) and any
other method with 501.  Then ``ED2.loop()``, sippy's own event dispatcher,
runs until the process is killed.

sippy is not an asyncio library: its UDP server receives and sends on worker
threads and hands datagrams to the single-threaded dispatcher, so there is no
asyncio loop to replace and ``--uvloop`` is refused.  The logger's level is
set to WARN through sippy's documented ``SIPLOG_LVL`` variable: at the
default INFO level the transaction manager writes every message it sends and
receives to stderr, which would measure the terminal, not the stack.  Prints
``READY`` once the socket is bound.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import uas_cli


def recv_request(req: Any, sip_t: Any) -> tuple[Any, None, None]:
    """Request callback of the transaction manager: 200 for MESSAGE, else 501."""
    if req.getMethod() == "MESSAGE":
        return req.genResponse(200, "OK"), None, None
    return req.genResponse(501, "Not Implemented"), None, None


def main() -> None:
    """Parse the command line, start sippy's transaction manager and run its loop."""
    args = uas_cli.arguments(__doc__ or "", "refused: sippy runs no asyncio loop")
    if args.uvloop:
        sys.exit("uas_sippy: sippy has its own event dispatcher (ED2) and threads, not asyncio")

    os.environ.setdefault("SIPLOG_LVL", "WARN")
    from sippy.Core.EventDispatcher import ED2  # type: ignore[import-untyped]
    from sippy.SipLogger import SipLogger  # type: ignore[import-untyped]
    from sippy.SipTransactionManager import SipTransactionManager  # type: ignore[import-untyped]

    global_config: dict[str, Any] = {
        "_sip_address": args.host,
        "_sip_port": args.port,
        "_sip_logger": SipLogger("uas_sippy"),
    }
    global_config["_sip_tm"] = SipTransactionManager(global_config, recv_request)
    print("READY", flush=True)
    ED2.loop()


if __name__ == "__main__":
    main()
