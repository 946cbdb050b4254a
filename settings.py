"""Settings from the environment (prefix `TONGBAN_`) or a `.env` file: one object for all."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TONGBAN_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".data"), description="SQLite file, dev server state")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means a SQLite file in data_dir"
    )
    centre: str = Field(default="maanshan", description="calendar of the service centre")

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "tongban"
    temporal_tls_cert: Path | None = Field(default=None, description="client certificate (mTLS)")
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = Field(default=None, description="server CA, if private")
    temporal_api_key: str | None = Field(default=None, description="Temporal Cloud API key")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tongban.db'}"


@cache
def get_settings() -> Settings:
    return Settings()
