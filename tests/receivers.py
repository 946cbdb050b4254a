"""Real local HTTP receivers for delivery tests: they keep what they get, and can refuse,
answer 500 or hang for a while, as real gateways and department systems do."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    """What the receiver does with the next requests (tests change it as they go)."""

    fail_next: int = 0  # answer these many requests with `failure_status`
    failure_status: int = 500
    down: bool = False  # refuse everything (503) until set back
    hang_next: int = 0  # hold these many requests past the client's timeout
    hang_seconds: float = 20.0
    # Answer these many requests a byte at a time, every `trickle_every` seconds: each read
    # comes within any read timeout, the whole answer takes `trickle_bytes` of them.
    trickle_next: int = 0
    trickle_every: float = 0.1
    trickle_bytes: int = 100


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = Behaviour()
        self.received: list[Received] = []
        self.attempts = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def ids(self) -> list[str]:
        """webhook ids (or SMS ids) of what was accepted, in order, duplicates kept."""
        out = []
        for r in self.received:
            out.append(r.headers.get("webhook-id") or str(r.json().get("id")))
        return out

    def decide(self) -> tuple[int, float]:
        with self.lock:
            self.attempts += 1
            b = self.behaviour
            if b.down:
                return 503, 0.0
            if b.hang_next > 0:
                b.hang_next -= 1
                return 200, b.hang_seconds
            if b.trickle_next > 0:
                b.trickle_next -= 1
                return 200, -b.trickle_every
            if b.fail_next > 0:
                b.fail_next -= 1
                return b.failure_status, 0.0
            return 200, 0.0


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        if len(body) < length:
            # The sender went away mid-request (a worker killed while sending): nothing was
            # delivered, as a real server would not take a truncated request either.
            return
        status, delay = self.server.decide()
        if delay < 0:
            self._trickle(-delay)
            return
        if delay:
            time.sleep(delay)  # a receiver that hangs: the client gives up first
        if status == 200 and not delay:
            with self.server.lock:
                headers = {k.lower(): v for k, v in self.headers.items()}
                self.server.received.append(Received(self.path, headers, body))
        data = b"{}"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def _trickle(self, every: float) -> None:
        size = self.server.behaviour.trickle_bytes
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(200)
            self.send_header("content-length", str(size))
            self.end_headers()
            for _ in range(size):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(every)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.shutdown()
        receiver.server_close()
