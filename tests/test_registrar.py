"""The registrar's RFC 3261 §10.3 rules over a real socket and a real SQLite
file: digest, expiry bounds (423), several contacts with q, Contact *,
Call-ID/CSeq ordering, Path and RFC 5626 instances, and bindings that
survive a restart."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sipstack.auth import DigestClient, DigestServer, apply_credentials
from sipstack.endpoint import Endpoint
from sipstack.message import Response, make_request
from sipstack.server import Registrar, add_user
from sipstack.storage import open_store
from sipstack.transport import Destination


class Client:
    """Sends REGISTERs with credentials, one Call-ID unless told."""

    def __init__(self, ep: Endpoint, port: int) -> None:
        self.ep = ep
        self.dest = Destination("UDP", "127.0.0.1", port)
        self.auth = DigestClient()
        self.auth.add("alice", "pw")
        self.call_id = "reg-1"
        self.cseq = itertools.count(1)

    async def register(
        self, *contacts: str, expires: int | None = None, call_id: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> Response:  # fmt: skip
        extra = [("Contact", c) for c in contacts] + (headers or [])
        if expires is not None:
            extra.append(("Expires", str(expires)))
        for _ in range(2):
            req = make_request(
                "REGISTER", "sip:localhost", from_addr="<sip:alice@localhost>",
                to_addr="<sip:alice@localhost>", call_id=call_id or self.call_id,
                cseq=next(self.cseq), headers=extra,
            )  # fmt: skip
            apply_credentials(req, self.auth.preemptive(req))
            resp = await self.ep.request(req, self.dest)
            if resp.status != 401:
                return resp
            apply_credentials(req, self.auth.authorize(req, resp))
            self._last = req
        return resp


def contacts_of(resp: Response) -> dict[str, int]:
    return {str(c.uri): c.expires or 0 for c in resp.contacts}


@asynccontextmanager
async def registrar(
    tmp_path: Path, clock: list[float] | None = None
) -> AsyncIterator[tuple[Registrar, Client]]:
    store = open_store(tmp_path)
    await add_user(store, "alice", "pw", "localhost")
    now = clock or [time.time()]
    reg = Registrar(
        store, DigestServer("localhost", secret=b"k" * 32), {"localhost"},
        min_expires=60, max_expires=3600, clock=lambda: now[0],
    )  # fmt: skip
    await reg.start()
    server = Endpoint(["udp:127.0.0.1:0"])
    server.route("REGISTER", reg.on_register)
    try:
        async with server, Endpoint(["udp:127.0.0.1:0"]) as client_ep:
            yield reg, Client(client_ep, server.listener("UDP").local[1])
    finally:
        await store.close()


async def test_bindings_with_q_query_and_expiry_bounds(tmp_path: Path) -> None:
    async with registrar(tmp_path) as (reg, c):
        ok = await c.register(
            "<sip:alice@192.0.2.1>;q=0.5", "<sip:alice@192.0.2.2>;q=1.0", expires=7200
        )
        assert ok.status == 200
        assert contacts_of(ok) == {"sip:alice@192.0.2.1": 3600, "sip:alice@192.0.2.2": 3600}
        assert reg.lookup("sip:alice@localhost")[0].contact.startswith("<sip:alice@192.0.2.2>")
        query = await c.register()
        assert contacts_of(query) == contacts_of(ok)
        brief = await c.register("<sip:alice@192.0.2.3>", expires=10)
        assert brief.status == 423 and brief.headers.get("Min-Expires") == "60"
        one_off = await c.register("<sip:alice@192.0.2.1>;expires=0")
        assert contacts_of(one_off) == {"sip:alice@192.0.2.2": 3600}


async def test_star_removes_everything_and_needs_expires_zero(tmp_path: Path) -> None:
    async with registrar(tmp_path) as (reg, c):
        await c.register("<sip:alice@192.0.2.1>", "<sip:alice@192.0.2.2>")
        assert (await c.register("*")).status == 400  # no Expires: 0
        gone = await c.register("*", expires=0)
        assert gone.status == 200 and not gone.contacts
        assert reg.lookup("sip:alice@localhost") == []


async def test_out_of_order_cseq_for_the_same_call_id_is_refused(tmp_path: Path) -> None:
    async with registrar(tmp_path) as (_, c):
        assert (await c.register("<sip:alice@192.0.2.1>")).status == 200
        c.cseq = itertools.count(1)  # the same Call-ID again from 1
        stale = await c.register("<sip:alice@192.0.2.1>")
        assert stale.status == 500
        other = await c.register("<sip:alice@192.0.2.1>", call_id="reg-2")
        assert other.status == 200  # another Call-ID replaces the binding


async def test_path_and_instance_are_kept_and_an_instance_replaces_itself(tmp_path: Path) -> None:
    async with registrar(tmp_path) as (reg, c):
        inst = '+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1'
        await c.register(
            f"<sip:alice@192.0.2.1>;{inst}", headers=[("Path", "<sip:edge.example;lr>")]
        )
        await c.register(
            f"<sip:alice@192.0.2.9>;{inst}", headers=[("Path", "<sip:edge.example;lr>")]
        )
        [binding] = reg.lookup("sip:alice@localhost")
        assert "192.0.2.9" in binding.contact and binding.reg_id == 1
        assert binding.path == ("<sip:edge.example;lr>",)
        assert binding.instance == "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"


async def test_someone_else_s_aor_is_403_and_unknown_domain_404(tmp_path: Path) -> None:
    async with registrar(tmp_path) as (_, c):
        req = make_request(
            "REGISTER", "sip:localhost", from_addr="<sip:bob@localhost>",
            to_addr="<sip:bob@localhost>", contact="<sip:x@192.0.2.1>",
        )  # fmt: skip
        first = await c.ep.request(req, c.dest)
        retry = make_request(
            "REGISTER", "sip:localhost", from_addr="<sip:bob@localhost>",
            to_addr="<sip:bob@localhost>", contact="<sip:x@192.0.2.1>", cseq=2,
            call_id=req.call_id,
        )  # fmt: skip
        apply_credentials(retry, c.auth.authorize(req, first))  # alice's credentials
        assert (await c.ep.request(retry, c.dest)).status == 403
        elsewhere = make_request(
            "REGISTER", "sip:example.org", from_addr="<sip:alice@example.org>",
            to_addr="<sip:alice@example.org>",
        )  # fmt: skip
        assert (await c.ep.request(elsewhere, c.dest)).status == 404


async def test_bindings_survive_a_restart_and_expired_ones_do_not(tmp_path: Path) -> None:
    clock = [1_000_000.0]
    async with registrar(tmp_path, clock) as (_, c):
        await c.register("<sip:alice@192.0.2.1>", expires=100)
        await c.register("<sip:alice@192.0.2.2>", expires=3000)
    async with registrar(tmp_path, clock) as (reg, _):
        assert len(reg.lookup("sip:alice@localhost")) == 2
    clock[0] += 200
    async with registrar(tmp_path, clock) as (reg, _):
        [left] = reg.lookup("sip:alice@localhost")
        assert "192.0.2.2" in left.contact
