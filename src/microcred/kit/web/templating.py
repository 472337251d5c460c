"""Jinja2 for server-rendered pages (autoescaped)."""

from __future__ import annotations

from importlib.resources import files

from fastapi.templating import Jinja2Templates

templates = Jinja2Templates(directory=str(files("microcred") / "templates"))
