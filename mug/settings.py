"""Server settings from the environment (or a `.env` file); every variable is listed in `.env.example`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from dotenv import find_dotenv, load_dotenv
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from mug.server.limits import MAX_STORED_BYTES, NEW_PARTICIPANTS_PER_MINUTE

DEFAULT_DATABASE_URL = "sqlite:///mug_data.sqlite3"


class Settings(BaseModel):
    """Deployment settings (not experiment design: that lives in the experiment file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    experiment: str | None = Field(default=None, description="MUG_EXPERIMENT: 'module:attr' or 'file.py[:attr]'.")
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, description="MUG_DATABASE_URL: sqlite:///... or postgresql://..."
    )
    bundle_dir: Path = Field(default=Path("pyodide_bundle"), description="MUG_BUNDLE_DIR")
    cors_origins: list[str] = Field(
        default_factory=list, description="MUG_CORS_ORIGINS, comma-separated; empty: same origin only."
    )
    log_level: str = Field(default="info", description="MUG_LOG_LEVEL")
    env_check: Literal["fail", "warn", "off"] = Field(
        default="fail",
        description="MUG_ENV_CHECK: what `mug serve` does when a game scene's env is not deterministic in "
        "its start-up check (two short CPython runs, in child processes): refuse to start ('fail'), start "
        "with a warning ('warn'), or skip the check ('off').",
    )
    redis_url: str | None = Field(
        default=None,
        description="MUG_REDIS_URL: redis://host:port/db shared by several server processes; unset: one process.",
    )
    admin_password: SecretStr | None = Field(
        default=None,
        description="MUG_ADMIN_PASSWORD: the password of the admin view at /admin; unset (the default): no admin "
        "view, /admin is not found.",
    )
    new_participants_per_minute: int = Field(
        default=NEW_PARTICIPANTS_PER_MINUTE,
        ge=1,
        description="MUG_NEW_PARTICIPANTS_PER_MINUTE: participants created per client address in any 60 s.",
    )
    max_stored_bytes: int = Field(
        default=MAX_STORED_BYTES,
        ge=1,
        description="MUG_MAX_STORED_BYTES: bytes of step rows, events and match reports stored per participant.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError(
                f"MUG_DATABASE_URL {value!r}: use sqlite:///path/to/file.sqlite3 or postgresql://user:pass@host/db"
            )
        return value

    @field_validator("admin_password")
    @classmethod
    def _check_admin_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 12:
            raise ValueError("MUG_ADMIN_PASSWORD is too short: use at least 12 characters (or leave it unset)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"MUG_REDIS_URL {value!r}: use redis://host:6379/0 (rediss:// for TLS, or unix:///path)")
        return value

    @classmethod
    def from_env(cls, load_env_file: bool = True) -> Settings:
        """Read the settings from MUG_* variables (and a `.env` file in the working directory)."""
        if load_env_file:
            load_dotenv(find_dotenv(usecwd=True), override=False)
        env = os.environ
        values: dict[str, object] = {}
        if env.get("MUG_EXPERIMENT"):
            values["experiment"] = env["MUG_EXPERIMENT"]
        if env.get("MUG_DATABASE_URL"):
            values["database_url"] = env["MUG_DATABASE_URL"]
        if env.get("MUG_BUNDLE_DIR"):
            values["bundle_dir"] = Path(env["MUG_BUNDLE_DIR"])
        if env.get("MUG_CORS_ORIGINS"):
            values["cors_origins"] = [o.strip() for o in env["MUG_CORS_ORIGINS"].split(",") if o.strip()]
        if env.get("MUG_REDIS_URL"):
            values["redis_url"] = env["MUG_REDIS_URL"]
        if env.get("MUG_ADMIN_PASSWORD"):
            values["admin_password"] = env["MUG_ADMIN_PASSWORD"]
        if env.get("MUG_LOG_LEVEL"):
            values["log_level"] = env["MUG_LOG_LEVEL"]
        if env.get("MUG_ENV_CHECK"):
            values["env_check"] = env["MUG_ENV_CHECK"]
        for name in ("new_participants_per_minute", "max_stored_bytes"):
            if env.get(f"MUG_{name.upper()}"):
                values[name] = env[f"MUG_{name.upper()}"].replace("_", "")
        return cls.model_validate(values)
