"""The optional LLM seam: one chat-completion call to an OpenAI-compatible endpoint.

Off by default. `get_llm(settings)` returns `None` unless `MICROCRED_LLM_BASE_URL` is set, and
every feature that can use an LLM has an offline path that is good on its own; an LLM may
improve text, never be required. Nothing here touches the network on import or on
construction: the only call out is `complete`, made by a caller that was handed an `LLM`.

Failures are one exception, `LLMUnavailable`, whatever went wrong (timeout, refused connection,
non-2xx status, a body that is not the chat-completions shape), so a caller has exactly one
thing to catch before falling back to its offline path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import httpx

if TYPE_CHECKING:
    from microcred.kit.settings import Settings

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


class LLMUnavailable(RuntimeError):
    """The LLM could not produce a completion; the caller should use its offline path."""


class LLM(Protocol):
    """A chat model. `name` identifies it in reasons and audit rows (e.g. "llm:llama3.1")."""

    name: str

    def complete(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.0
    ) -> str:
        """The assistant's reply text, or `LLMUnavailable`."""
        ...


# A reset on a fresh connection is usually a server restarting or an idle keep-alive being
# dropped by a proxy: one more attempt is cheap. Timeouts and HTTP errors are not retried; a
# slow or failing model should send the user to the offline answer, not make them wait twice.
_RETRIABLE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class OpenAICompatibleLLM:
    """`POST {base_url}/chat/completions`, non-streaming, as OpenAI, Ollama, vLLM and
    llama.cpp's server all accept it."""

    def __init__(
        self, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 20.0
    ) -> None:
        if not model:
            raise ValueError("an LLM model name is required (MICROCRED_LLM_MODEL)")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self.name = f"llm:{model}"
        self._api_key = api_key

    def __repr__(self) -> str:
        # Never the key: reprs end up in logs and tracebacks.
        return f"OpenAICompatibleLLM(url={self.url!r}, model={self.model!r})"

    def complete(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.0
    ) -> str:
        payload = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        # trust_env=False: proxies and certificates come from settings, not the environment
        # (nothing but settings reads the environment), and a local endpoint is never proxied.
        with httpx.Client(timeout=self.timeout_s, trust_env=False) as client:
            response = self._post(client, payload, headers)
        if not response.is_success:
            raise LLMUnavailable(f"{self.name}: HTTP {response.status_code} from {self.url}")
        return _reply_text(response, self.name)

    def _post(
        self, client: httpx.Client, payload: dict[str, object], headers: dict[str, str]
    ) -> httpx.Response:
        for attempt in (1, 2):
            try:
                return client.post(self.url, json=payload, headers=headers)
            except _RETRIABLE as exc:
                if attempt == 2:
                    raise LLMUnavailable(f"{self.name}: connection failed twice: {exc}") from exc
            except httpx.TimeoutException as exc:
                raise LLMUnavailable(
                    f"{self.name}: no reply within {self.timeout_s:g}s from {self.url}"
                ) from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise LLMUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _reply_text(response: httpx.Response, name: str) -> str:
    """`choices[0].message.content` as a string, or `LLMUnavailable` naming what was missing."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LLMUnavailable(f"{name}: the reply is not JSON") from exc
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise LLMUnavailable(f"{name}: the reply has no choices[0].message.content") from exc
    if not isinstance(content, str):
        raise LLMUnavailable(f"{name}: choices[0].message.content is not text")
    return content


def get_llm(settings: Settings) -> LLM | None:
    """The configured LLM, or `None` when `llm_base_url` is unset (the default: no LLM)."""
    if not settings.llm_base_url:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return OpenAICompatibleLLM(
        settings.llm_base_url, settings.llm_model, api_key=key, timeout_s=settings.llm_timeout_s
    )
