"""The ports the benches and the stack test give their own stacks: below the ephemeral range
(where the Temporal dev server's internal services and outgoing connections take theirs),
free, and never the same twice."""

from __future__ import annotations

import socket
from pathlib import Path

from bench.ports import spare_port


def test_spare_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [spare_port() for _ in range(20)]
    assert len(set(ports)) == 20
    assert all(10000 <= p < ephemeral for p in ports)
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
