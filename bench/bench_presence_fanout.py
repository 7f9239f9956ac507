"""NOTIFY fan-out: how long ``sipstack server`` takes to tell 1,000 watchers
that a user's presence changed.

The server runs as its own process.  This process holds the watchers: one
UDP socket that answers every NOTIFY 200 and notes when it came, and an
endpoint that sends the 1,000 SUBSCRIBEs (watchers from another domain,
let in by ``anonymous_inbound``, at the Public level).  Then the watched
user (a Peer) publishes a change, and the time from sending that PUBLISH to
the last of the 1,000 NOTIFYs carrying the new state is the figure.

    python bench/bench_presence_fanout.py [--watchers 1000] [--rounds 5]

The issue's target: 1,000 watchers in at most 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ports import free_port_pair  # noqa: E402

from sipstack.endpoint import Endpoint  # noqa: E402
from sipstack.message import Request, make_request, make_response, parse  # noqa: E402
from sipstack.presence import Availability, Presence  # noqa: E402
from sipstack.transport import Destination  # noqa: E402
from sipstack.ua import Peer  # noqa: E402

TARGET = 0.5
CONFIG = "[policy]\nanonymous_inbound = true\n"


class Watchers(asyncio.DatagramProtocol):
    """Answers NOTIFYs; counts those that carry ``marker``."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.marker = b""
        self.seen = 0
        self.goal = 0
        self.done = asyncio.Event()
        self.last = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        msg = parse(data)
        if not isinstance(msg, Request):
            return
        assert self.transport is not None
        self.transport.sendto(bytes(make_response(msg, 200)), addr)
        if self.marker and self.marker in data:
            self.seen += 1
            if self.seen >= self.goal:
                self.last = time.perf_counter()
                self.done.set()


async def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="fanout-"))
    data = work / "data"
    (work / "server.toml").write_text(CONFIG)
    env = dict(os.environ, PYTHONPATH=str(ROOT), SIPSTACK_PASSWORD="a")
    subprocess.run(
        [sys.executable, "-m", "sipstack", "users", "add", "alice", "--data-dir", str(data)],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    port = free_port_pair()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sipstack", "server", "--data-dir", str(data),
        "--listen", f"127.0.0.1:{port}", "--config", str(work / "server.toml"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        while not (await server.stdout.readline()).startswith(b"data in"):
            pass
        loop = asyncio.get_running_loop()
        wtransport, watchers = await loop.create_datagram_endpoint(
            Watchers, local_addr=("127.0.0.1", 0)
        )
        wport = wtransport.get_extra_info("sockname")[1]
        dest = Destination("UDP", "127.0.0.1", port)
        async with (
            Endpoint(["udp:127.0.0.1:0"]) as ep,
            Peer(
                "sip:alice@localhost", password="a", register=True,
                registrar=f"sip:127.0.0.1:{port}", proxy=f"sip:127.0.0.1:{port};lr",
            ) as alice,
        ):  # fmt: skip
            await alice.presence.publish(Presence("sip:alice@localhost", Availability.AWAY))
            started = time.perf_counter()
            sem = asyncio.Semaphore(100)

            async def subscribe(i: int) -> int:
                async with sem:
                    req = make_request(
                        "SUBSCRIBE", "sip:alice@localhost",
                        from_addr=f"<sip:w{i}@elsewhere.example>",
                        to_addr="<sip:alice@localhost>",
                        contact=f"<sip:w{i}@127.0.0.1:{wport}>",
                        headers=[("Event", "presence"), ("Expires", "3600")],
                    )  # fmt: skip
                    return (await ep.request(req, dest)).status

            statuses = await asyncio.gather(*(subscribe(i) for i in range(args.watchers)))
            if set(statuses) != {200}:
                print(f"subscriptions failed: {sorted(set(statuses))}", file=sys.stderr)
                return 1
            print(f"{args.watchers} watchers subscribed in {time.perf_counter() - started:.2f} s")
            times = []
            states = [Availability.AVAILABLE, Availability.BUSY, Availability.AWAY]
            for r in range(args.rounds):
                # Each watcher's first NOTIFY had CSeq 1; this round's has r + 2
                # (a Public watcher sees availability only, so the body
                # cannot be the marker).
                watchers.marker = f"CSeq: {r + 2} NOTIFY".encode()
                watchers.seen = 0
                watchers.goal = args.watchers
                watchers.done.clear()
                sent = time.perf_counter()
                await alice.presence.publish(
                    Presence("sip:alice@localhost", states[r % len(states)], note=f"round {r}")
                )
                try:
                    await asyncio.wait_for(watchers.done.wait(), 30)
                except TimeoutError:
                    print(f"only {watchers.seen} of {args.watchers} NOTIFYs came", file=sys.stderr)
                    return 1
                times.append(watchers.last - sent)
                print(f"round {r + 1}: {args.watchers} NOTIFYs in {times[-1] * 1000:.0f} ms")
            best, median = min(times), statistics.median(times)
            print(
                f"fan-out to {args.watchers} watchers: median {median * 1000:.0f} ms, best "
                f"{best * 1000:.0f} ms (target {TARGET * 1000:.0f} ms, ratio "
                f"{TARGET / median:.2f})"
            )
        wtransport.close()
        return 0
    finally:
        if server.returncode is None:
            server.terminate()
            try:
                await asyncio.wait_for(server.wait(), 10)
            except TimeoutError:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--watchers", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    return asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
