"""Security headers on every answer, pages and API alike, as 等保 2.0 level 3 (GB/T
22239-2019) expects of a web system: a Content-Security-Policy without inline scripts or
styles, no MIME sniffing, no framing, no referrer to other sites, no powerful browser
features, and HSTS when the service is published over https.

The headers are added outermost, around Starlette's own error handling, so that even a 500
carries them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from settings import Settings

DOCS_PATH = "/docs"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: Settings, *, docs: bool = False) -> str:
    """The pages' policy. Scripts and styles come from /static only (no inline ones, no
    `eval`); forms post to this site, and to the unified-identity provider that applicants
    are sent to from /my/login (a browser checks `form-action` on a form's redirects too).

    /docs (Swagger UI, served from the app's own files) differs in one point only: its
    stylesheet draws its icons as `data:` images."""
    form_action = "'self'"
    if settings.oidc_issuer:
        form_action += f" {origin(settings.oidc_issuer)}"
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:" if docs else "'self'",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": form_action,
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


# Browser features no page of the service uses (uploads use file inputs, not the camera).
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


def security_headers(settings: Settings, *, docs: bool = False) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(settings, docs=docs),
        "X-Content-Type-Options": "nosniff",
        # Within the site the full address; to other sites (the identity provider, the
        # Temporal UI) nothing. Query codes are never in an address anyway: the QR code
        # carries them in the fragment, which browsers do not send.
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Permissions-Policy": PERMISSIONS_POLICY,
    }
    if settings.served_over_https:
        # A year; subdomains are left to the domain's owner (other services may live there).
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


class SecurityHeaders:
    """ASGI middleware setting the headers on every HTTP answer (replacing any the app set)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.pages = _raw(security_headers(settings))
        self.docs = _raw(security_headers(settings, docs=True))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ours = self.docs if scope["path"] == DOCS_PATH else self.pages
        names = {name for name, _ in ours}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + ours}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def install(app: FastAPI, settings: Settings) -> None:
    """Wrap the app's whole middleware stack, error handling included."""
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build(), settings)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
