"""``sipstack server``: the registrar, proxy, presence server and
conversation focus behind one endpoint, with its configuration."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..auth import ALGORITHMS, DigestServer, ha1
from ..certs import server_context, write_dev_certificates
from ..endpoint import Endpoint
from ..errors import SIPUsageError
from ..policy import Feature, Policy, from_mapping, to_header
from ..storage import Account, SQLiteStore, open_store
from ..transport import ListenSpec
from ._archive import ServerArchive
from ._focus import ConversationFocus
from ._presence import PresenceServer
from ._proxy import Proxy
from ._registrar import Registrar

__all__ = ["Server", "ServerConfig", "add_user", "load_config"]

log = logging.getLogger("sipstack.server")

#: A conversation URI is a local URI whose user part starts with this.
CONVERSATION_PREFIX = "conv-"


@dataclass(slots=True)
class ServerConfig:
    """What a server runs with.  Every field has the embedded default;
    ``load_config`` reads a TOML file over it, command-line flags override
    both."""

    data_dir: Path = Path("sipstack-data")
    domains: list[str] = field(default_factory=lambda: ["localhost"])
    #: (host, port): UDP and TCP on port, TLS on port + 1.
    listen: list[tuple[str, int]] = field(default_factory=lambda: [("127.0.0.1", 5060)])
    tls_cert: Path | None = None
    tls_key: Path | None = None
    min_expires: int = 60
    max_expires: int = 3600
    #: Digest algorithms challenged with, in order of preference (RFC 8760
    #: §2.3; a client that takes the first it sees may need MD5 first).
    digest_algorithms: list[str] = field(default_factory=lambda: ["SHA-256", "MD5"])
    anonymous_inbound: bool = False
    federation: bool = False
    #: The administrator's feature settings (``[policy.features]``), pushed
    #: to clients in the REGISTER response.
    policy: Policy = field(default_factory=Policy)
    #: Refuse a MESSAGE that cannot be archived (``[archive] mandatory``),
    #: when archiving is on.
    archive_mandatory: bool = False

    @property
    def realm(self) -> str:
        """The digest realm: the first domain."""
        return self.domains[0]


def load_config(path: Path, config: ServerConfig | None = None) -> ServerConfig:
    """Read a TOML configuration file over ``config`` (or the defaults)::

    data_dir = "/var/lib/sipstack"
    domains = ["example.com"]
    listen = ["0.0.0.0:5060"]
    tls_cert = "server.pem"
    tls_key = "server.key"
    [registrar]
    min_expires = 60
    max_expires = 3600
    [policy]
    anonymous_inbound = false
    federation = false
    """
    cfg = config or ServerConfig()
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SIPUsageError(f"cannot read {path}: {exc}") from None
    if "data_dir" in data:
        cfg.data_dir = Path(data["data_dir"])
    if "domains" in data:
        cfg.domains = [str(d) for d in data["domains"]]
    if "listen" in data:
        cfg.listen = [parse_hostport(str(x)) for x in data["listen"]]
    for key in ("tls_cert", "tls_key"):
        if key in data:
            setattr(cfg, key, Path(data[key]))
    reg = data.get("registrar", {})
    cfg.min_expires = int(reg.get("min_expires", cfg.min_expires))
    cfg.max_expires = int(reg.get("max_expires", cfg.max_expires))
    if "digest_algorithms" in reg:
        cfg.digest_algorithms = [str(a) for a in reg["digest_algorithms"]]
    pol = data.get("policy", {})
    cfg.anonymous_inbound = bool(pol.get("anonymous_inbound", cfg.anonymous_inbound))
    cfg.federation = bool(pol.get("federation", cfg.federation))
    if "features" in pol:
        cfg.policy = from_mapping(pol["features"])
    cfg.archive_mandatory = bool(data.get("archive", {}).get("mandatory", cfg.archive_mandatory))
    if cfg.archive_mandatory:
        # Mandatory archiving is archiving, whatever [policy.features] says.
        cfg.policy.set_admin(Feature.ARCHIVE, True, locked=True)
    return cfg


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 in brackets) for ``--listen``."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise SIPUsageError(f"--listen takes HOST:PORT, not {text!r}")
    if not 0 <= int(port) <= 65534:
        raise SIPUsageError(f"port {port} out of range (TLS uses the next one)")
    return host.strip("[]"), int(port)


def _secret(data_dir: Path) -> bytes:
    """The nonce key, kept in the data directory so that nonces survive a
    restart (and several processes could share it)."""
    path = data_dir / "nonce.key"
    if path.exists():
        return path.read_bytes()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    path.write_bytes(key)
    path.chmod(0o600)
    return key


class Server:
    """A running server: ``async with Server(config) as server``."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store: SQLiteStore | None = None
        self.endpoint: Endpoint | None = None
        self.registrar: Registrar | None = None
        self.proxy: Proxy | None = None
        self.focus: ConversationFocus | None = None
        self.presence: PresenceServer | None = None
        self.archive: ServerArchive | None = None

    async def start(self) -> None:
        """Open the store, listen, and load the registrations."""
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = open_store(cfg.data_dir)
        cert, key = cfg.tls_cert, cfg.tls_key
        if cert is None or key is None:
            dev = write_dev_certificates(
                cfg.data_dir / "certs", hosts=[*cfg.domains, "127.0.0.1", "localhost"]
            )
            cert, key = dev.server_cert, dev.server_key
        tls = server_context(cert, key)
        specs = []
        for host, port in cfg.listen:
            specs += [
                ListenSpec("UDP", host, port),
                ListenSpec("TCP", host, port),
                ListenSpec("TLS", host, port + 1 if port else 0),
            ]
        # A proxy: requests may spiral back through it (merge detection is
        # for user agents; the proxy detects real loops itself).
        self.endpoint = ep = Endpoint(specs, tls_server=tls, merge_detection=False)
        digest = DigestServer(
            cfg.realm, secret=_secret(cfg.data_dir), algorithms=cfg.digest_algorithms
        )
        self.archive = ServerArchive(self.store, cfg.policy, mandatory=cfg.archive_mandatory)
        self.registrar = Registrar(
            self.store,
            digest,
            set(cfg.domains),
            min_expires=cfg.min_expires,
            max_expires=cfg.max_expires,
            policy_header=to_header(cfg.policy),
            on_event=lambda kind, aor, contact: self._archive_event(kind, aor, contact),
        )
        await self.registrar.start()
        self.focus = ConversationFocus(
            ep,
            conversations=self.store.conversations,
            subscriptions=self.store.subscriptions,
            on_event=self._archive_event,
        )
        await self.focus.start()
        self.presence = PresenceServer(
            ep, self.store, set(cfg.domains), max_expires=cfg.max_expires
        )
        await self.presence.start()
        self.proxy = Proxy(
            ep,
            self.registrar,
            cfg.domains,
            anonymous_inbound=cfg.anonymous_inbound,
            federation=cfg.federation,
            conversations=self.focus,
            conversation_prefix=CONVERSATION_PREFIX,
            presence=self.presence,
            archive=self.archive,
        )
        ep.route("REGISTER", self.registrar.on_register)
        self.proxy.attach()
        await ep.start()
        # Only now can NOTIFYs go out: the current state to every watcher
        # taken up again (what changed while the server was down).
        self.presence.resume()

    def _archive_event(self, kind: str, subject: str, other: str) -> None:
        if self.archive is not None:
            conversation = other if kind in ("conversation-start", "join", "leave") else None
            self.archive.event(kind, subject, other, conversation)

    async def close(self) -> None:
        """Stop listening, finish running transactions, close the store.
        Subscriptions and conversations are kept (stored) for the next
        start."""
        if self.presence is not None:
            await self.presence.close()
        if self.focus is not None:
            await self.focus.drain()
        if self.endpoint is not None:
            await self.endpoint.close()
        # What the last transactions wrote (a watcher found gone …).
        if self.presence is not None:
            await self.presence.drain()
        if self.focus is not None:
            await self.focus.drain()
        if self.archive is not None:
            await self.archive.drain()
        if self.store is not None:
            await self.store.close()

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def describe(self) -> list[str]:
        """One line per listening socket, and where the data lives."""
        assert self.endpoint is not None
        lines = []
        for lst in self.endpoint.listeners:
            host, port = lst.local[0], lst.local[1]
            shown = f"[{host}]" if ":" in host else host
            lines.append(f"listening on {lst.transport.lower()}:{shown}:{port}")
        lines.append(f"domains {', '.join(self.config.domains)}")
        archive = self.config.policy.effective(Feature.ARCHIVE)
        mandatory = " (mandatory)" if self.config.archive_mandatory else ""
        lines.append(f"archiving {'on' + mandatory if archive else 'off'}")
        lines.append(f"data in {self.config.data_dir.resolve()}")
        return lines


async def run_server(config: ServerConfig) -> None:
    """Run until SIGINT or SIGTERM, printing where the server listens."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with Server(config) as server:
        # Everything made at start-up lives as long as the server: keep it
        # out of the collector's way, and collect young objects less often
        # (a relayed message makes and drops hundreds of them).
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)
        for line in server.describe():
            print(line, flush=True)
        await stop.wait()
        print("stopping", flush=True)


async def add_user(
    store: SQLiteStore, username: str, password: str, realm: str, display_name: str | None = None
) -> None:
    """Create or replace a user: the digest HA1 for every algorithm is
    stored, never the password."""
    if not username or any(c in username for c in "@:;<> \t\r\n"):
        raise SIPUsageError(f"{username!r} is not a user name")
    hashes = {
        alg: ha1(username, realm, password, alg) for alg in ALGORITHMS if not alg.endswith("-sess")
    }
    await store.accounts.put(Account(username, realm, hashes, display_name))
