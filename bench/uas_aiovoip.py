"""aiovoip UAS for the MESSAGE load benchmark: answers MESSAGE with 200 OK.

Usage::

    python bench/uas_aiovoip.py --host 127.0.0.1 --port PORT [--uvloop]

A plain aiovoip application, written the way the library's own tests write a
server: an ``aiovoip.Application`` with a ``BaseDialplan`` subclass whose
``resolve`` returns a handler coroutine for MESSAGE; the handler answers with
``request.prepare(status_code=200)``.  ``prepare`` creates an inbound dialog
object and registers it with the application; a MESSAGE outside a dialog
opens none (RFC 3428), so the handler closes it again, otherwise the
application keeps one per request for ever.  Other methods get aiovoip's
default 501.  aiovoip is asyncio-native, so it also runs on uvloop.  Prints
``READY`` once the UDP server is bound.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiovoip  # type: ignore[import-untyped]
import uas_cli


async def on_message(request: Any, message: Any) -> None:
    """Answer one MESSAGE with 200 OK and drop the dialog object aiovoip made for it."""
    dialog = await request.prepare(status_code=200)
    if dialog is not None:
        await dialog.close()


class Dialplan(aiovoip.BaseDialplan):  # type: ignore[misc]
    """Routes MESSAGE to :func:`on_message`; other methods get no route (501)."""

    async def resolve(self, *args: Any, **kwargs: Any) -> Any:
        """Return the handler for the request's method, or None."""
        await super().resolve(*args, **kwargs)
        if kwargs["method"] == "MESSAGE":
            return on_message
        return None


async def serve(host: str, port: int) -> None:
    """Start the application's UDP server, print READY and serve until killed."""
    app = aiovoip.Application(loop=asyncio.get_running_loop(), dialplan=Dialplan())
    await app.run(local_addr=(host, port), protocol=aiovoip.UDP)
    try:
        print("READY", flush=True)
        await asyncio.Event().wait()
    finally:
        await app.close()


def main() -> None:
    """Parse the command line and serve on asyncio or uvloop."""
    uas_cli.run(serve, __doc__ or "")


if __name__ == "__main__":
    main()
