"""Memory per registration and REGISTER rate of the registrar.

Memory: 100,000 users each register one contact through the registrar's own
REGISTER handling (parsed requests, the §10.3 rules, the binding records
kept for lookups); ``tracemalloc`` measures what the location service then
holds, per registration.  The SQLite file size per registration is shown
too.

Rate: REGISTERs with digest credentials over UDP from one endpoint to a
registrar in this process (challenge, then the authenticated REGISTER:
two transactions per registration), as many as possible for a few
seconds.

    python bench/bench_registrations.py [--users 100000] [--seconds 5]

The issue's target: at most 1 KiB per registration.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sipstack.auth import DigestClient, DigestServer, apply_credentials  # noqa: E402
from sipstack.endpoint import Endpoint  # noqa: E402
from sipstack.message import Request, make_request, parse  # noqa: E402
from sipstack.server import Registrar, add_user  # noqa: E402
from sipstack.storage import open_store  # noqa: E402
from sipstack.transport import Destination, Flow  # noqa: E402

TARGET = 1024


class _Incoming:
    """What the registrar reads of an incoming request, without a socket."""

    def __init__(self, request: Request, flow: Flow) -> None:
        self.request = request
        self.flow = flow
        self.status = 0

    def respond(self, status: int, reason: str | None = None, **_: object) -> None:
        self.status = status


def register_request(i: int) -> Request:
    req = make_request(
        "REGISTER", "sip:localhost", from_addr=f"<sip:user{i}@localhost>",
        to_addr=f"<sip:user{i}@localhost>", call_id=f"{i:08x}-reg@192.0.2.1",
        contact=f"<sip:user{i}@192.0.2.{i % 250 + 1}:{5060 + i % 1000};transport=udp>",
        headers=[("Expires", "3600"), ("User-Agent", "bench/1.0"),
                 ("Via", f"SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{i:x}")],
    )  # fmt: skip
    out = parse(bytes(req))
    assert isinstance(out, Request)
    return out


async def memory(users: int, work: Path) -> None:
    store = open_store(work / "mem")
    reg = Registrar(store, DigestServer("localhost"), {"localhost"})
    flow = Flow("UDP", ("127.0.0.1", 5060), ("192.0.2.1", 5060))
    requests = [register_request(i) for i in range(users)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for req in requests:
        incoming = _Incoming(req, flow)
        bindings = reg._apply(incoming, f"sip:{req.to_addr.uri.user}@localhost")  # type: ignore[arg-type]
        assert bindings is not None
        reg.location[bindings[0].aor] = bindings
    del requests, incoming
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    for aor, bindings in list(reg.location.items())[:20000]:
        await store.registrations.replace(aor, bindings)
    await store.close()
    size = (work / "mem" / "sipstack.db").stat().st_size
    per = held / users
    print(
        f"location service: {held / 2**20:.1f} MiB for {users} registrations = {per:.0f} B each "
        f"(target {TARGET} B, ratio {TARGET / per:.2f}); SQLite: {size / 20000:.0f} B each"
    )


async def rate(seconds: float, work: Path) -> None:
    store = open_store(work / "rate")
    await add_user(store, "alice", "pw", "localhost")
    reg = Registrar(store, DigestServer("localhost", algorithms=("MD5",)), {"localhost"})
    await reg.start()
    async with Endpoint(["udp:127.0.0.1:0"]) as server, Endpoint(["udp:127.0.0.1:0"]) as client:
        server.route("REGISTER", reg.on_register)
        dest = Destination("UDP", "127.0.0.1", server.listener("UDP").local[1])
        auth = DigestClient()
        auth.add("alice", "pw")
        done = 0
        cseq = 0
        deadline = time.perf_counter() + seconds

        async def one(n: int) -> None:
            nonlocal done, cseq
            while time.perf_counter() < deadline:
                cseq += 1
                req = make_request(
                    "REGISTER", "sip:localhost", from_addr="<sip:alice@localhost>",
                    to_addr="<sip:alice@localhost>", call_id=f"rate-{n}", cseq=cseq,
                    contact=f"<sip:alice@192.0.2.1:{6000 + n}>", headers=[("Expires", "600")],
                )  # fmt: skip
                challenge = await client.request(req, dest)
                cseq += 1
                retry = make_request(
                    "REGISTER", "sip:localhost", from_addr="<sip:alice@localhost>",
                    to_addr="<sip:alice@localhost>", call_id=f"rate-{n}", cseq=cseq,
                    contact=f"<sip:alice@192.0.2.1:{6000 + n}>", headers=[("Expires", "600")],
                )  # fmt: skip
                apply_credentials(retry, auth.authorize(req, challenge))
                ok = await client.request(retry, dest)
                assert ok.status == 200, ok.status
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(8)))
        took = time.perf_counter() - started
    await store.close()
    print(
        f"REGISTER with digest, client and registrar in one process: {done / took:.0f} "
        f"registrations/s ({2 * done / took:.0f} transactions/s)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="registrations-"))
    try:
        asyncio.run(memory(args.users, work))
        asyncio.run(rate(args.seconds, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
