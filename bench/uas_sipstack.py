"""sipstack endpoint answering MESSAGE with 200, for the load benchmark.

Usage::

    python bench/uas_sipstack.py --host 127.0.0.1 --port PORT [--uvloop]
                                 [--client-log inline|offload]

A full :class:`sipstack.endpoint.Endpoint`: every request is parsed, gets
a server transaction (kept in Completed for Timer J, 32 s on UDP, to absorb
retransmissions), and is answered by a synchronous handler.  Prints
``READY`` once listening; on SIGTERM it prints its counters and the number
of transactions it still holds.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
from pathlib import Path

import uas_cli

from sipstack.endpoint import Endpoint, IncomingRequest
from sipstack.interceptors import ClientLog, Pipeline


async def serve(host: str, port: int, client_log: str | None = None) -> None:
    """Answer MESSAGE until SIGTERM; with ``client_log``, every message is
    also logged (JSON lines and text, in a temporary directory)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with Endpoint([f"udp:{host}:{port}"]) as ep:

        log = None
        if client_log is not None:
            out = Path(tempfile.mkdtemp(prefix="sipstack-bench-log-"))
            log = ClientLog(
                out / "sip.jsonl", text_path=out / "sip.log", offload=client_log == "offload"
            )
            Pipeline(ep, [log])

        @ep.route("MESSAGE")
        def on_message(incoming: IncomingRequest) -> None:
            incoming.respond(200)

        print("READY", flush=True)
        await stop.wait()
        print(f"transactions held: {len(ep.layer)}", flush=True)
        await ep.close(timeout=0.1)
        if log is not None:
            log.close()
            shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    """Parse the command line and serve on asyncio or uvloop."""
    uas_cli.run(serve, __doc__ or "")


if __name__ == "__main__":
    main()
