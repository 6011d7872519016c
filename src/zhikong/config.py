"""Platform settings, read from ZHIKONG_* environment variables (CLI flags override them)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    """All runtime settings of a zhikong deployment; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="ZHIKONG_", extra="ignore")

    var_dir: Path = Field(
        default=DEFAULT_VAR_DIR,
        description="Folder for the embedded database and other local state.",
    )
    key_dir: Path | None = Field(
        default=None,
        description="Key directory (secrets, never in repo or database); default <var_dir>/keys.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database; default sqlite:///<var_dir>/zhikong.db. "
            "Use postgresql+psycopg://user@host/db for PostgreSQL."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `zhikong serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `zhikong serve` binds to.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Minimum level of the JSON log lines."
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="Time zone for display; storage is always UTC."
    )
    demo_people: int = Field(
        default=100_000,
        ge=0,
        le=100_000_000,
        description="Synthetic residents `zhikong demo` makes.",
    )
    demo_seed: int = Field(default=2020, description="Random seed of the demo population.")
    sql_echo: bool = Field(default=False, description="Log every SQL statement (debugging).")
    access_token_minutes: int = Field(
        default=15, ge=1, le=1440, description="Lifetime of an access token."
    )
    refresh_token_days: int = Field(
        default=14, ge=1, le=365, description="Lifetime of a refresh token (rotated on use)."
    )
    otp_minutes: int = Field(default=5, ge=1, le=60, description="Lifetime of an SMS sign-in code.")
    login_max_failures: int = Field(
        default=5, ge=1, le=100, description="Failed sign-ins before an account is locked."
    )
    lockout_minutes: int = Field(
        default=15, ge=1, le=10080, description="How long a locked account stays locked."
    )
    code_profile: str = Field(
        default="code-colour.zhejiang-2020",
        description="Colour profile of the health code (code-colour.zhejiang-2020, "
        "code-colour.cn-2022, code-colour.minimal).",
    )
    issuer_region: str = Field(
        default="330000",
        pattern=r"^[0-9A-Z]{2,12}$",
        description="Region code this installation signs health codes as (GB/T 2260).",
    )
    screen_code_minutes: int = Field(
        default=5, ge=1, le=60, description="Validity of the code shown on a phone."
    )
    paper_code_days: int = Field(
        default=7, ge=1, le=31, description="Validity of a printed paper code."
    )
    notifier: str = Field(
        default="log", description="Where colour changes are notified: log, or a webhook URL."
    )
    notifier_secret: str = Field(
        default="", description="HMAC secret that signs webhook notifications."
    )
    sms_sender: str = Field(
        default="zhikong.auth.sms:LogSmsSender",
        description="module:callable that returns the SMS sender (default writes to the log).",
    )

    @field_validator("database_url")
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        """Treat an empty URL as unset."""
        return value or None

    @property
    def resolved_key_dir(self) -> Path:
        """The key directory in force."""
        return self.key_dir if self.key_dir is not None else self.var_dir / "keys"

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force, defaulting to SQLite under var_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'zhikong.db').as_posix()}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (CLI flags) on top."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)  # type: ignore[arg-type]
