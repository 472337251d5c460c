from __future__ import annotations

import base64
import os

import pytest
from pydantic import ValidationError

from microcred.kit.settings import Settings


def test_default_secrets_are_refused_outside_development() -> None:
    assert Settings(environment="development").secret_key  # the demo runs on defaults
    for environment in ("test", "production"):
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings(environment=environment)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="KEY_ENCRYPTION_KEY"):
        Settings(environment="production", secret_key="s" * 40)


def test_key_encryption_key_must_be_32_bytes() -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(key_encryption_key=base64.urlsafe_b64encode(b"short").decode())
    good = base64.urlsafe_b64encode(os.urandom(32)).decode()
    assert (
        Settings(
            environment="production", secret_key="s" * 40, key_encryption_key=good
        ).key_encryption_key
        == good
    )


def test_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROCRED_BASE_URL", "https://badges.example.edu/")
    monkeypatch.setenv("MICROCRED_STATUS_LIST_SIZE", "262144")
    settings = Settings()
    assert settings.public_base_url == "https://badges.example.edu"
    assert settings.status_list_size == 262144
    monkeypatch.setenv("MICROCRED_STATUS_LIST_SIZE", "1024")
    with pytest.raises(ValidationError):
        Settings()
