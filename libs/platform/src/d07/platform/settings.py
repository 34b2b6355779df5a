"""Typed settings from the environment (prefix D07_), failing fast on bad values.

Every service subclasses `ServiceSettings`. Defaults serve the local run; outside `env=dev` a missing or
placeholder secret is a start-up error, never a silent default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from d07.platform.proxies import parse_networks

PLACEHOLDERS = ("changeme", "change-me", "placeholder", "secret", "password", "todo", "xxx")

# The project root when running from a checkout (libs/platform/src/d07/platform/settings.py -> 5 up).
PROJECT_ROOT = Path(__file__).resolve().parents[5]
RUN_DIR = PROJECT_ROOT / ".run"


def looks_like_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(p in lowered for p in PLACEHOLDERS)


class ServiceSettings(BaseSettings):
    """What every service reads. Subclasses add their own fields and set `service` and the ports."""

    model_config = SettingsConfigDict(env_prefix="D07_", extra="ignore", frozen=True)

    env: Literal["dev", "test", "prod"] = "dev"
    service: str = "d07"
    log_level: str = "INFO"

    database_url: str = ""
    # `migrate` connects with this when set: the role that owns the schema (deploy/postgres/roles.sql), while
    # D07_DATABASE_URL is the runtime role with DML only.
    migrator_database_url: str = ""
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=10, ge=1)

    kafka_bootstrap: str = ""
    consumer_group: str = ""
    # How long the broker waits for a silent consumer before giving its partitions to another member: the time
    # a killed consumer's partitions stay idle.
    consumer_session_timeout_ms: int = Field(default=10000, ge=1000, le=300000)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=50050, ge=0, le=65535)
    # Limits of a request: the HTTP request line and headers (431 past it, before the app reads any), the
    # HTTP body (413), a gRPC message received (RESOURCE_EXHAUSTED; gRPC metadata has the header limit).
    http_max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    http_max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    grpc_max_receive_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # The proxies (CIDRs or addresses, comma-separated) whose X-Forwarded-For names the real client; empty:
    # none, every peer is its own client (see d07.platform.proxies).
    trusted_proxies: str = ""

    # Authentication: production verifies tokens against the identity provider's JWKS (URL or file);
    # the local run uses a development key whose public half lies in .run/dev-jwks.json.
    jwks_url: str = ""
    jwks_file: str = ""
    jwt_issuer: str = "d07-dev"
    jwt_audience: str = "d07"
    # The token this service presents to its peers (role `service`).
    service_token: str = ""

    # Roles of the service process: run the outbox relay and the consumers inside `serve`.
    inprocess_workers: bool = True

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        parse_networks(value)  # a bad CIDR fails at start, not on the first request
        return value

    @model_validator(mode="after")
    def _refuse_placeholders_outside_dev(self) -> ServiceSettings:
        if self.env == "dev":
            return self
        problems: list[str] = []
        if not self.database_url:
            problems.append("D07_DATABASE_URL is required")
        elif looks_like_placeholder(self.database_url):
            problems.append("D07_DATABASE_URL holds a placeholder secret")
        if self.migrator_database_url and looks_like_placeholder(self.migrator_database_url):
            problems.append("D07_MIGRATOR_DATABASE_URL holds a placeholder secret")
        if not self.kafka_bootstrap:
            problems.append("D07_KAFKA_BOOTSTRAP is required")
        if not (self.jwks_url or self.jwks_file):
            problems.append("D07_JWKS_URL or D07_JWKS_FILE is required")
        if self.service_token and looks_like_placeholder(self.service_token):
            problems.append("D07_SERVICE_TOKEN holds a placeholder secret")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def db_schema(self) -> str:
        """The PostgreSQL schema this service owns."""
        return self.service

    def resolved_database_url(self) -> str:
        """D07_DATABASE_URL, or in dev the local server that `make run` started (.run/database_url)."""
        if self.database_url:
            return self.database_url
        local = RUN_DIR / "database_url"
        if self.env == "dev" and local.exists():
            return local.read_text().strip()
        raise ValueError("D07_DATABASE_URL is not set and no local database runs (start it with `make run`)")

    def resolved_migrator_database_url(self) -> str:
        """D07_MIGRATOR_DATABASE_URL, else the one database URL (a single role for both)."""
        return self.migrator_database_url or self.resolved_database_url()

    def resolved_kafka_bootstrap(self) -> str:
        if self.kafka_bootstrap:
            return self.kafka_bootstrap
        local = RUN_DIR / "kafka_bootstrap"
        if self.env == "dev" and local.exists():
            return local.read_text().strip()
        raise ValueError("D07_KAFKA_BOOTSTRAP is not set and no local broker runs (start it with `make run`)")

    def resolved_jwks_file(self) -> str:
        if self.jwks_file or self.jwks_url:
            return self.jwks_file
        return str(RUN_DIR / "dev-jwks.json")
