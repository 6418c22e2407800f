"""ApiSettings: the API process's typed configuration (env prefix ``TRAINYARD_API_``).

MongoDB is configured by ``MONGODB_URI``/``MONGODB_DB_NAME`` (trainyard_runstore.settings).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_WEB_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRAINYARD_API_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    web_dist: Path = Field(default=REPO_WEB_DIST, description="built web UI served at /, if present")
    request_timeout_ms: int | None = Field(
        default=None, ge=100,
        description="optional limit on each MongoDB operation (PyMongo timeoutMS). Unset: an unreachable "
                    "server still answers 503 after MONGODB_TIMEOUT_MS of server selection, while slow queries "
                    "on a reachable one may finish (timeoutMS would override that server selection timeout)")
    stream_poll_seconds: float = Field(default=1.0, gt=0, le=30, description="how often a live stream polls")
    default_max_points: int = Field(default=2000, ge=10, description="points of a long run's series by default")
    raw_series_limit: int = Field(default=5000, ge=10, description="runs up to this many episodes come unsampled")
    checkpoint_root: Path | None = Field(default=None, description="shared volume holding <run_id>/ checkpoints")
    log_level: str = "info"
    lost_timeout_seconds: float = Field(default=120.0, gt=0, le=3600, description="a running run without a "
                                        "heartbeat for this long is marked failed with reason Lost")
    watch_interval_seconds: float = Field(default=15.0, gt=0, le=600, description="how often the API pings "
                                          "MongoDB (trainyard_api_mongodb_up) and looks for lost runs")
