"""How every Kafka client of the platform connects: plaintext by default, TLS and SASL from the environment.

One function, `client_kwargs()`, builds the connection keyword arguments that the outbox relay's producer, the
consumer runner (its consumer and dead-letter producer), the replay and the readiness broker check all pass to
aiokafka, from these settings:

| variable | meaning |
|---|---|
| `D07_KAFKA_SECURITY_PROTOCOL` | `PLAINTEXT` (default), `SSL`, `SASL_PLAINTEXT` or `SASL_SSL` |
| `D07_KAFKA_SASL_MECHANISM` | `SCRAM-SHA-512` (default: Strimzi's KafkaUser), `SCRAM-SHA-256`, `PLAIN` |
| `D07_KAFKA_SASL_USERNAME` | the KafkaUser's name |
| `D07_KAFKA_SASL_PASSWORD` | its password (from the KafkaUser's Secret, key `password`) |
| `D07_KAFKA_SSL_CAFILE` | the cluster CA (Strimzi: `<cluster>-cluster-ca-cert`, `ca.crt`); empty: system's |
| `D07_KAFKA_SSL_CERTFILE`, `D07_KAFKA_SSL_KEYFILE` | a client certificate (mutual TLS), both or neither |

A SASL protocol without a username or password, or half a client certificate, is a start-up error.
"""

from __future__ import annotations

import ssl
from typing import Any, Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["KafkaSecurity", "client_kwargs"]


class KafkaSecurity(BaseSettings):
    """The TLS and SASL settings of the platform's Kafka clients (prefix D07_KAFKA_)."""

    model_config = SettingsConfigDict(env_prefix="D07_KAFKA_", extra="ignore", frozen=True)

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: SecretStr = SecretStr("")
    ssl_cafile: str = ""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""

    @model_validator(mode="after")
    def _complete(self) -> KafkaSecurity:
        problems: list[str] = []
        if self.sasl:
            if not self.sasl_username:
                problems.append(f"D07_KAFKA_SASL_USERNAME is required with {self.security_protocol}")
            if not self.sasl_password.get_secret_value():
                problems.append(f"D07_KAFKA_SASL_PASSWORD is required with {self.security_protocol}")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            problems.append("D07_KAFKA_SSL_CERTFILE and D07_KAFKA_SSL_KEYFILE go together")
        if (self.ssl_cafile or self.ssl_certfile) and not self.tls:
            problems.append(
                f"D07_KAFKA_SSL_* is set but D07_KAFKA_SECURITY_PROTOCOL is {self.security_protocol}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying TLS context: the given CA (else the system's), the client certificate when given."""
        context = ssl.create_default_context(cafile=self.ssl_cafile or None)
        if self.ssl_certfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context


def client_kwargs(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """The connection arguments of an aiokafka client (AIOKafkaProducer, AIOKafkaConsumer, AIOKafkaClient):
    nothing for PLAINTEXT, else the protocol, the TLS context and the SASL credentials. Without an argument,
    read from the environment."""
    s = security if security is not None else KafkaSecurity()
    if s.security_protocol == "PLAINTEXT":
        return {}
    kwargs: dict[str, Any] = {"security_protocol": s.security_protocol}
    if s.tls:
        kwargs["ssl_context"] = s.ssl_context()
    if s.sasl:
        kwargs["sasl_mechanism"] = s.sasl_mechanism
        kwargs["sasl_plain_username"] = s.sasl_username
        kwargs["sasl_plain_password"] = s.sasl_password.get_secret_value()
    return kwargs
