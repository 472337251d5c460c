"""The base of every request body: unknown fields and NUL characters are refused."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


def _nul_path(value: Any, path: str = "") -> str | None:
    if isinstance(value, str):
        return path or "/" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_path(key, path) or _nul_path(item, f"{path}/{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}/{index}")
            if found:
                return found
    return None


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul_characters(cls, data: Any) -> Any:
        # No text field means a NUL; PostgreSQL cannot store one and SQLite would truncate it
        # in some clients, so refuse it alike on both.
        path = _nul_path(data)
        if path is not None:
            raise ValueError(f"text at {path} contains a NUL character")
        return data
