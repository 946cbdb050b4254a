"""Ports for a stack started by a bench or a test: free now, none handed out twice, and all
below the kernel's ephemeral range. The Temporal dev server gives its internal services
random ports from that range when it starts, as the kernel does for every outgoing
connection: a port there that was free when chosen may be someone else's by the time the
process meant for it binds it."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_LOWEST = 10000
_given: set[int] = set()


def _ephemeral_start() -> int:
    try:
        low = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]
        return min(int(low), 32768)
    except (OSError, ValueError, IndexError):
        return 32768


def spare_port() -> int:
    top = _ephemeral_start()
    for _ in range(500):
        port = random.randrange(_LOWEST, top)
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port between {_LOWEST} and {top}")
