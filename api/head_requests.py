"""HEAD answered like GET without a body (RFC 9110 §9.3.2), on every page and GET route.

FastAPI routes declared with GET answer HEAD with 405; monitors and link checkers send
HEAD. The request goes through as a GET (the same checks, the same headers, the same
Content-Length) and the body is dropped on the way out.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a part of a streamed body: the last part ends the answer
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        as_get = {**scope, "method": "GET"}
        try:
            await self.app(as_get, receive, without_body)
        finally:
            # The route the router matched, for the metrics and the access log outside.
            if "route" in as_get:
                scope["route"] = as_get["route"]
