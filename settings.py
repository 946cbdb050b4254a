"""Settings from the environment (prefix `TONGBAN_`) or a `.env` file: one object for all."""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TONGBAN_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".data"), description="SQLite file, dev server state")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means a SQLite file in data_dir"
    )
    centre: str = Field(default="maanshan", description="calendar of the service centre")
    region_code: str = Field(
        default="340500", pattern=r"^\d{6}$", description="行政区划代码: first digits of numbers"
    )

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "tongban"
    temporal_tls_cert: Path | None = Field(default=None, description="client certificate (mTLS)")
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = Field(default=None, description="server CA, if private")
    temporal_api_key: str | None = Field(default=None, description="Temporal Cloud API key")
    temporal_ui_url: str = Field(
        default="http://127.0.0.1:8233", description="Web UI, for links from the dashboard"
    )

    public_url: str = Field(
        default="", description="address applicants reach, for QR codes (else the request's)"
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    trusted_proxies: str = Field(
        default="127.0.0.1",
        description="addresses whose X-Forwarded-For is believed (throttling is per client)",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="signs query codes; if unset, one is generated once into data_dir",
    )
    token_hours: int = Field(default=12, ge=1, description="lifetime of tokens and sessions")
    idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="a staff session or token unused this long is refused as expired",
    )
    action_timeout_seconds: float = Field(
        default=30, gt=0, description="how long an action may wait for the engine"
    )
    lookup_failures_allowed: int = Field(
        default=10, ge=1, description="failed status look-ups per client per window"
    )
    lookup_window_seconds: int = Field(default=600, ge=1)
    bad_review_follow_up_days: int = Field(
        default=10, ge=5, le=15, description="working days to follow up a bad review"
    )
    oidc_issuer: str = Field(
        default="",
        description="统一身份认证: the OpenID Connect issuer applicants sign in with; empty: "
        "applicants use number + query code only",
    )
    oidc_client_id: str = "tongban"
    oidc_client_secret: SecretStr = Field(default=SecretStr("tongban-dev"))
    sms_url: str = Field(
        default="", description="the SMS gateway: POST {id, to, text}; empty: SMS are not sent"
    )
    sms_token: SecretStr | None = Field(default=None, description="bearer token of the gateway")
    sms_first_try_seconds: float = Field(
        default=3.0,
        ge=0,
        le=10,
        description="how long the write that records an SMS waits for the gateway to take it "
        "(the action's answer waits too); 0: every SMS goes through the retried activity",
    )
    sms_first_try_pause_seconds: float = Field(
        default=30.0,
        ge=0,
        description="after a first try fails, how long a worker skips first tries",
    )
    sms_sink_file: Path | None = Field(
        default=None, description="development: the local SMS sink's file, shown at /dev/sms"
    )
    connector_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="per department code, the whsec_ secret its pushed tasks are signed with "
        '(JSON: {"tax": "whsec_..."})',
    )
    feed_poll_seconds: float = Field(
        default=5, gt=0, description="how often a feed with nothing new looks again"
    )
    feed_failing_minutes: int = Field(
        default=15, ge=1, description="a subscriber failing for longer is marked failing"
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="json: one JSON object a line, for a log collector; text: for people",
    )
    worker_cache_size: int = Field(
        default=100,
        ge=2,
        description="workflows a worker keeps in memory (Temporal's sticky cache); one "
        "evicted is replayed from its history at its next timer or action. Bounds the "
        "worker's memory whatever the number of open applications",
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=100,
        description="database connections each API or worker process keeps open, and never "
        "more; the sum over all processes must stay below PostgreSQL's max_connections",
    )
    worker_metrics_address: str = Field(
        default="",
        description="host:port where the worker serves the Temporal SDK's Prometheus metrics "
        "(/metrics); empty: not served",
    )
    otlp_endpoint: str = Field(
        default="",
        description="OTLP/HTTP collector base URL (http://host:4318) traces are sent to; empty: "
        "OTEL_EXPORTER_OTLP_ENDPOINT if set, else no tracing",
    )
    demo_password: SecretStr = Field(
        default=SecretStr("demo"), description="password of the demo accounts"
    )

    @property
    def feed_source(self) -> str:
        """The CloudEvents `source` of this centre's events."""
        return f"urn:tongban:{self.region_code}"

    @property
    def served_over_https(self) -> bool:
        """Published over https (cookies are then Secure, HSTS is sent), even when a proxy
        in front terminates TLS and the app itself sees plain http."""
        return self.public_url.startswith("https://")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tongban.db'}"

    def secret(self) -> bytes:
        """The server secret: from the environment, else generated once and kept on disk."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip().encode()


@cache
def get_settings() -> Settings:
    return Settings()
