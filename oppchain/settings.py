"""One frozen settings object, read when a command starts (never at import).

Every field can come from the environment (``OPPCHAIN_<NAME>``) or a flag.
Empty ``brokers`` / ``clickhouse_dsn`` mean "the embedded default": a tansu
broker started on 127.0.0.1 and chdb under the data directory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPPCHAIN_", frozen=True, extra="ignore")

    data_dir: Path = Path("./data")
    brokers: str = Field("", description="Kafka bootstrap servers; empty: embedded tansu")
    clickhouse_dsn: str = Field("", description="chdb:///path or http(s)://; empty: embedded")
    secret: SecretStr | None = Field(
        None, description="Secret the per-workspace email salt is derived from"
    )
    secret_file: Path | None = Field(
        None,
        description="Read the secret from this file; with neither set, a random one is "
        "created once as <data_dir>/secret (mode 0600)",
    )

    topic_prefix: str = "oppchain."
    partitions: int = Field(6, ge=1, le=1024)
    group_id: str = "oppchain-pipeline"
    app_id: str = "oppchain"

    max_message_bytes: int = Field(64 * 1024, ge=1024)
    batch_max_records: int = Field(20000, ge=1)
    batch_linger_ms: int = Field(100, ge=0)
    session_timeout_ms: int = Field(6000, ge=1000)
    heartbeat_interval_ms: int = Field(1000, ge=100)
    processing_processes: int | None = Field(
        None,
        ge=0,
        le=64,
        description="Child processes running identity, chains and attribution, each for "
        "a share of the partitions; 0: a thread of the worker process; unset: one per "
        "core this process may run on (set it where a container's CPU limit is lower)",
    )

    path_lookback_days: int = Field(730, ge=1)
    max_steps: int = Field(200, ge=1)
    time_decay_half_life_days: float = Field(7.0, gt=0)
    markov_interval_s: float = Field(300.0, gt=0)
    markov_order: int = Field(1, ge=1, le=4)

    web_enabled: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    sql_host: str = "127.0.0.1"
    sql_port: int = 0

    @property
    def topics(self) -> dict[str, str]:
        """Input topics by family, and the dead-letter topic."""
        names = ("social", "relationship", "crm", "deadletters")
        return {name: f"{self.topic_prefix}{name}" for name in names}

    @property
    def input_topics(self) -> list[str]:
        t = self.topics
        return [t["social"], t["relationship"], t["crm"]]

    def secret_bytes(self) -> bytes:
        """The secret, from the environment or a file: never from code, never logged."""
        if self.secret is not None:
            return self.secret.get_secret_value().encode()
        path = self.secret_file
        if path is None:
            path = self.data_dir / "secret"
            if not path.exists():
                if self.clickhouse_dsn and not self.clickhouse_dsn.startswith("chdb://"):
                    # Shared servers: a secret made here would differ from the workers',
                    # and every hash made with it (emails, erasures) would be wrong.
                    raise ValueError(
                        "a ClickHouse server is configured but no secret: set "
                        "OPPCHAIN_SECRET or OPPCHAIN_SECRET_FILE to the pipeline's secret"
                    )
                _create_secret(path)
        value = path.read_text().strip()
        if not value:
            raise ValueError(f"secret file {path} is empty")
        return value.encode()

    def processing_pool_size(self) -> int:
        if self.processing_processes is not None:
            return min(self.processing_processes, self.partitions)
        return min(len(os.sched_getaffinity(0)), self.partitions)

    def resolved_dsn(self) -> str:
        if self.clickhouse_dsn:
            return self.clickhouse_dsn
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"


def _create_secret(path: Path) -> None:
    """Write a new secret where none is, atomically: workers starting together on one
    data directory all end up reading the one that was linked first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        os.unlink(draft)
