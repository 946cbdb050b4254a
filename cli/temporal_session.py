"""A Temporal client for a short-lived command, and an orderly end to its use.

The SDK's Rust core completes every call on one of its Tokio threads, which takes the GIL
to hand the result to the event loop with `loop.call_soon_threadsafe`. That call writes to
the loop's self-pipe with the GIL released, so the waiting coroutine can resume, finish the
command and begin interpreter shutdown while the Tokio thread still waits to take the GIL
back. A thread taking the GIL during finalization is ended on the spot, and the core then
releases a thread state that is no longer current: "Fatal Python error: PyGILState_Release:
thread state ... must be current when releasing", SIGABRT (or SIGSEGV), exit 134, after
the command did its work (temporalio/sdk-python#300). The SDK has no close or shutdown for
a client or the default runtime, so a command lets those callbacks finish, inside its event
loop, before it returns.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client

from settings import Settings
from temporal_client import connect


def _foreign_threads_in_python() -> set[int]:
    """Threads inside Python code that Python did not start (the core's Tokio threads)."""
    ours = {thread.ident for thread in threading.enumerate()}
    return set(sys._current_frames()) - ours


async def core_callbacks_settled() -> None:
    """Wait, giving up the GIL, until no core thread is in the middle of handing a result
    to the event loop (it takes microseconds once it has the GIL); two seconds at most."""
    for _ in range(1000):
        if not _foreign_threads_in_python():
            return
        await asyncio.sleep(0.002)


@asynccontextmanager
async def temporal_client(
    settings: Settings, *, connect_seconds: float = 10
) -> AsyncIterator[Client]:
    """A connected client; on leaving, the core's callbacks for its calls have finished,
    so the process can exit cleanly."""
    try:
        yield await asyncio.wait_for(connect(settings), connect_seconds)
    finally:
        await core_callbacks_settled()
