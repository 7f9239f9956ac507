"""Free local ports for the server benchmarks."""

from __future__ import annotations

import socket


def free_port_pair() -> int:
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
        try:
            with socket.socket() as t, socket.socket() as t2:
                t.bind(("127.0.0.1", port))
                t2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


def free_udp() -> int:
    """A free UDP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        return int(u.getsockname()[1])
