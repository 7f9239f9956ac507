"""The command line every load-benchmark UAS script shares.

``python bench/uas_NAME.py --host 127.0.0.1 --port PORT [--uvloop]``: the
script's ``serve(host, port)`` coroutine runs on asyncio, or on uvloop.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


def arguments(description: str, uvloop_help: str = "run on uvloop") -> argparse.Namespace:
    """Parse ``--host``, ``--port`` and ``--uvloop``."""
    parser = argparse.ArgumentParser(description=description.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--uvloop", action="store_true", help=uvloop_help)
    parser.add_argument(
        "--client-log", choices=["inline", "offload"],
        help="sipstack only: also log every message with the client SIP log",
    )  # fmt: skip
    return parser.parse_args()


def run(serve: Callable[..., Coroutine[Any, Any, None]], description: str) -> None:
    """Parse the command line and run ``serve`` on asyncio or uvloop
    (``client_log=`` passed on only when given)."""
    args = arguments(description)
    extra = {"client_log": args.client_log} if args.client_log else {}
    if args.uvloop:
        import uvloop

        uvloop.run(serve(args.host, args.port, **extra))
    else:
        asyncio.run(serve(args.host, args.port, **extra))
