"""``sipstack chat``: sign in, read lines, act on them, sign out."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import io
import ipaddress
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..errors import SIPUsageError
from ..ua import AuthenticationFailed, Peer, RequestFailed
from ._client import ChatClient, explain
from ._terminal import Completer, LineInput, Screen, StreamInput, TerminalInput, clean

__all__ = ["ChatOptions", "run_chat"]

T = TypeVar("T")

#: How long signing in may take in all (a UDP request gives up after 32 s
#: by itself; this also bounds a TCP or TLS connection that hangs).
SIGN_IN_TIMEOUT = 40.0
#: How long messages still being sent at the end of input may take.
DRAIN_TIMEOUT = 40.0
#: How long signing out may take.
CLOSE_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """What ``sipstack chat`` was asked to do.

    ``aor`` is the user's address (``sip:alice@example.com``; the scheme may
    be left out); ``server`` is ``HOST[:PORT]`` of the server to sign in at
    (default: the address's domain, port 5060, 5061 for TLS); ``data_dir``
    keeps the call log, history and client SIP log (default: memory only);
    ``ca_file`` is the CA that signs a TLS server's certificate (default:
    the system's).
    """

    aor: str
    server: str | None = None
    transport: str = "udp"
    data_dir: Path | None = None
    ca_file: Path | None = None
    verbose: bool = False


class _Stopped(Exception):
    """Ctrl-C, SIGTERM or a hang-up came first."""


class _PlainFormatter(logging.Formatter):
    """Log records as one plain line each: a user of the chat client is
    shown no tracebacks (``--verbose`` shows everything)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"sipstack: {record.getMessage()}"


def run_chat(options: ChatOptions) -> int:
    """Run the interactive client until ``/quit``, the end of input or
    Ctrl-C; the exit status (1 when signing in failed, 2 for bad usage)."""
    _setup_logging(options.verbose)
    for stream in (sys.stdin, sys.stdout):
        # Text from the network or a terminal in another encoding must not
        # end the session with a UnicodeError.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    try:
        aor = _aor(options.aor)
        host, port = _server_address(options.server, aor, options.transport)
    except SIPUsageError as exc:
        print(f"sipstack: {exc}", file=sys.stderr)
        return 2
    password = _password(aor)
    if password is None:
        return 2
    try:
        with _terminal_restored():
            return asyncio.run(_session(options, aor, host, port, password))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        logging.getLogger("sipstack.chat").debug("chat failed", exc_info=True)
        print(f"sipstack: chat failed: {explain(exc)}", file=sys.stderr)
        return 1


def _setup_logging(verbose: bool) -> None:
    if verbose:
        logging.basicConfig(level=logging.INFO)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PlainFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def _aor(text: str) -> str:
    text = text.strip()
    aor = text if text.startswith(("sip:", "sips:")) else f"sip:{text}"
    user, _, domain = aor.partition(":")[2].partition("@")
    if not user or not domain:
        raise SIPUsageError(f"the address must be sip:user@domain, not {text!r}")
    return aor


def _server_address(text: str | None, aor: str, transport: str) -> tuple[str, int]:
    """``HOST[:PORT]`` (an IPv6 address in brackets) of the server; by
    default the address's domain."""
    default_port = 5061 if transport == "tls" else 5060
    if text is None:
        domain = aor.partition("@")[2].split(";", 1)[0]
        text = domain
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") if rest.startswith(":") else rest
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host or (port_text and not (port_text.isascii() and port_text.isdigit())):
        raise SIPUsageError(f"--server takes HOST or HOST:PORT, not {text!r}")
    port = int(port_text) if port_text else default_port
    if not 0 < port < 65536:
        raise SIPUsageError(f"port {port} is out of range")
    return host, port


def _password(aor: str) -> str | None:
    """The password: ``$SIPSTACK_PASSWORD``, else asked at the terminal;
    None (after saying why) when there is no way to ask."""
    env = os.environ.get("SIPSTACK_PASSWORD")
    if env:
        return env
    if not _can_prompt():
        # getpass would fall back to reading standard input, swallowing
        # the first line of a script and more (it reads buffered).
        print(
            "sipstack: no password: set SIPSTACK_PASSWORD, or run sipstack chat in a terminal",
            file=sys.stderr,
        )
        return None
    try:
        return getpass.getpass(f"password for {aor}: ")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return None


def _can_prompt() -> bool:
    if sys.platform == "win32":
        return sys.stdin is not None and sys.stdin.isatty()
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


@contextlib.contextmanager
def _terminal_restored() -> Iterator[None]:
    """Put the terminal's settings back at the end: the reader thread may
    be inside readline (echo off, raw mode) when the client quits."""
    saved = None
    fd = -1
    if sys.platform != "win32" and sys.stdin is not None and sys.stdin.isatty():
        import termios

        fd = sys.stdin.fileno()
        with contextlib.suppress(termios.error):
            saved = termios.tcgetattr(fd)
    try:
        yield
    finally:
        if saved is not None:
            import termios

            with contextlib.suppress(termios.error):
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def _until(stop: asyncio.Event, work: Awaitable[T]) -> T:
    """``work``'s result, or :class:`_Stopped` (``work`` cancelled) when
    ``stop`` is set first."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise _Stopped
    return task.result()


async def _addresses(host: str, port: int) -> tuple[str, str]:
    """The server's address (IPv4 preferred: a server listens there by
    default) and this machine's address towards it."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise SIPUsageError(f"cannot find the server {host}: {exc.strerror or exc}") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, address = infos[0][0], str(infos[0][4][0])
    if ipaddress.ip_address(address).is_loopback:
        return address, address
    # Connecting a UDP socket sends nothing; it only picks the local
    # address the system would route from.
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((address, port))
        local = str(probe.getsockname()[0])
    return address, local


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _sign_in_problem(exc: BaseException, where: str, transport: str) -> str:
    if isinstance(exc, AuthenticationFailed):
        return "wrong user name or password"
    if isinstance(exc, RequestFailed):
        if exc.status == 408:
            return f"no answer from the server at {where}"
        if exc.status == 503:
            # A local 503 is a failed connection; for TLS most often a
            # certificate that does not chain to the CA given.
            hint = " — is --ca-file the CA of its certificate?" if transport == "tls" else ""
            return f"cannot reach the server at {where} ({clean(exc.reason)}){hint}"
        return f"the server at {where} refused: {exc.status} {clean(exc.reason)}"
    if isinstance(exc, TimeoutError):
        return f"no answer from the server at {where}"
    return explain(exc)


def _watch_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    for name in names:
        number = getattr(signal, name, None)
        if number is not None:
            # No signal handlers on Windows' loops: Ctrl-C is then a
            # KeyboardInterrupt, caught in run_chat.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(number, stop.set)


def _make_peer(
    options: ChatOptions, aor: str, password: str, host: str, port: int, addresses: tuple[str, str]
) -> Peer:
    """The peer that signs in at the server ``host``:``port``."""
    server_ip, local = addresses
    transport = options.transport.lower()
    tls_client = None
    if transport == "tls":
        from ..certs import client_context

        tls_client = client_context(ca=options.ca_file)
    # The server's name stays in the URIs for TLS: its certificate names
    # it.  Otherwise the address found for it is used, so that a name with
    # both IPv6 and IPv4 addresses reaches the same server every time.
    server = _bracketed(host if transport == "tls" else server_ip)
    # The peer listens on the address that routes to the server (not the
    # Peer's default, loopback), or the server could not reach it.
    return Peer(
        aor,
        password=password,
        register=True,
        registrar=f"sip:{server}:{port}",
        proxy=f"sip:{server}:{port};lr",
        transport=transport,
        listen=[f"udp:{_bracketed(local)}:0", f"tcp:{_bracketed(local)}:0"],
        tls_client=tls_client,
        data_dir=options.data_dir,
    )


async def _session(options: ChatOptions, aor: str, host: str, port: int, password: str) -> int:
    """Sign in, then chat until the end; the exit status."""
    stop = asyncio.Event()
    _watch_signals(stop)
    where = f"{_bracketed(host)}:{port}"
    try:
        addresses = await _addresses(host, port)
        peer = _make_peer(options, aor, password, host, port, addresses)
    except (SIPUsageError, OSError, ValueError) as exc:
        print(f"sipstack: {explain(exc)}", file=sys.stderr)
        return 2
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        # Over UDP an absent server takes half a minute to give up on.
        print(f"signing in at {where}…", flush=True)
    try:
        await _until(stop, asyncio.wait_for(peer.start(), SIGN_IN_TIMEOUT))
    except _Stopped:
        await peer.close(1.0)
        return 130
    except Exception as exc:
        problem = _sign_in_problem(exc, where, options.transport.lower())
        print(f"sipstack: sign-in failed: {problem}", file=sys.stderr)
        await peer.close(1.0)
        return 1
    await _chat(peer, where, stop, interactive)
    return 0


async def _chat(peer: Peer, where: str, stop: asyncio.Event, interactive: bool) -> None:
    """Read and act on lines until /quit, the end of input or ``stop``;
    then let pending messages go (unless stopped) and sign out."""
    client: ChatClient
    terminal = None
    line_input: LineInput
    if interactive:
        terminal = TerminalInput(Completer(lambda: client.contact_names))
        line_input = terminal
    else:
        line_input = StreamInput(sys.stdin.fileno())
    screen = Screen(sys.stdout, terminal)
    client = ChatClient(peer, screen, server=where)
    stopped = False
    try:
        await _until(stop, client.start())
        while True:
            line = await _until(stop, line_input.readline(client.prompt))
            if line is None or await _until(stop, client.handle(line)):
                break
    except _Stopped:
        stopped = True
    finally:
        line_input.close()
        # Nobody is prompted again: lines from here on are written plainly,
        # the first one below a prompt that Ctrl-C may have left.
        screen.end_prompting()
        if not stopped:
            with contextlib.suppress(_Stopped):
                await _until(stop, client.finish(DRAIN_TIMEOUT))
        await client.close(CLOSE_TIMEOUT)
    client.say("* signed out")
