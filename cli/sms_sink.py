"""`tongban sms-sink`: a local SMS gateway for development, that keeps what it is sent.

It answers the gateway's protocol (POST JSON `{"id", "to", "text"}`, any path) with 200 and
appends each new message to a JSON Lines file; a message whose id it has seen is answered
200 again and not kept twice, as a real gateway deduplicating by id would. `tongban dev`
runs one, and the page /dev/sms shows what it holds.
"""

from __future__ import annotations

import argparse
import errno
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cli.errors import CliError


class SmsSink(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], store: Path) -> None:
        super().__init__(address, _Handler)
        self.store = store
        self.lock = threading.Lock()
        self.seen: set[str] = set()
        if store.exists():
            for line in store.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self.seen.add(str(json.loads(line).get("id")))

    def keep(self, message: dict[str, Any]) -> None:
        with self.lock:
            if message["id"] in self.seen:
                return
            self.seen.add(message["id"])
            stamped = message | {"received_at": datetime.now(UTC).isoformat()}
            with self.store.open("a", encoding="utf-8") as out:
                out.write(json.dumps(stamped, ensure_ascii=False) + "\n")


class _Handler(BaseHTTPRequestHandler):
    server: SmsSink

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            message = json.loads(self.rfile.read(length))
            if not all(isinstance(message.get(k), str) for k in ("id", "to", "text")):
                raise ValueError("id, to and text are required")
        except ValueError as exc:
            self._answer(400, {"error": str(exc)})
            return
        self.server.keep(message)
        self._answer(200, {"id": message["id"], "status": "accepted"})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the messages hold phone numbers: nothing goes to the console


def sent_messages(store: Path, limit: int = 200) -> list[dict[str, Any]]:
    """What the sink holds, the newest first."""
    if not store.exists():
        return []
    lines = [line for line in store.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(line) for line in reversed(lines[-limit:])]


def run(args: argparse.Namespace) -> int:
    store = Path(args.file)
    store.parent.mkdir(parents=True, exist_ok=True)
    try:
        sink = SmsSink((args.host, args.port), store)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CliError(
                f"port {args.port} on {args.host} is in use: choose another with --port"
            ) from exc
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
    with sink:
        sink.serve_forever()
    return 0


def register(areas: Any) -> None:
    sub = areas.add_parser("sms-sink", help="a local SMS gateway that keeps what it is sent")
    sub.add_argument("--host", default="127.0.0.1")
    sub.add_argument("--port", type=int, default=9500)
    sub.add_argument("--file", default=".data/sms.jsonl", help="where messages are kept")
    sub.set_defaults(handler=run)
