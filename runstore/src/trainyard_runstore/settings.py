"""MongoDB connection settings, read from the environment (``MONGODB_URI``, ``MONGODB_DB_NAME``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MongoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MONGODB_", extra="ignore")

    uri: str = Field(default="mongodb://127.0.0.1:27017", description="MongoDB connection string")
    db_name: str = Field(default="trainyard", description="database holding the training_runs collection")
    timeout_ms: int = Field(
        default=1500, ge=100, description="server selection / connect timeout; bounds how long a request waits"
    )

    def client_kwargs(self) -> dict[str, Any]:
        return {
            "serverSelectionTimeoutMS": self.timeout_ms,
            "connectTimeoutMS": self.timeout_ms,
            "socketTimeoutMS": max(self.timeout_ms * 20, 30_000),
            "tz_aware": True,
            "appname": "trainyard",
        }
