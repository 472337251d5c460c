"""The OpenAI-compatible LLM client against a real local HTTP server with scripted replies."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from microcred.kit.ai.llm import ChatMessage, LLMUnavailable, OpenAICompatibleLLM, get_llm
from microcred.kit.settings import Settings


@dataclass(frozen=True)
class Scripted:
    """One scripted response: a status and raw body, optionally late or a connection reset."""

    body: bytes
    status: int = 200
    delay_s: float = 0.0
    reset: bool = False


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


def completion(content: object) -> bytes:
    """A chat-completions response body whose first choice says `content`."""
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
    ).encode()


@dataclass
class ScriptedLLMServer:
    """A chat-completions endpoint on 127.0.0.1 that plays `script` in order and records what
    it was sent. With the script exhausted it answers 500, so a surprise extra call fails."""

    script: list[Scripted] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def say(self, content: str) -> None:
        self.script.append(Scripted(completion(content)))

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def llm(self, *, api_key: str | None = None, timeout_s: float = 5.0) -> OpenAICompatibleLLM:
        return OpenAICompatibleLLM(self.base_url, "test-model", api_key, timeout_s)

    def __enter__(self) -> ScriptedLLMServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.requests.append(Recorded(self.path, dict(self.headers), json.loads(raw)))
                step = owner.script.pop(0) if owner.script else Scripted(b"{}", status=500)
                if step.reset:
                    # Linger 0 makes close() send RST: the client sees a connection reset.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    self.close_connection = True
                    return
                time.sleep(step.delay_s)
                self.send_response(step.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(step.body)))
                self.end_headers()
                self.wfile.write(step.body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep the test run quiet

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that timed out and left is the point of some tests

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as running:
        yield running


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hello?")]


def test_get_llm_is_none_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MICROCRED_LLM_BASE_URL", raising=False)
    settings = Settings(_env_file=None)  # no .env file: the defaults themselves
    assert settings.llm_base_url is None
    assert get_llm(settings) is None


def test_get_llm_builds_the_client_from_settings_without_calling_out() -> None:
    settings = Settings(
        llm_base_url=f"http://127.0.0.1:{_unused_port()}/v1/",
        llm_model="llama3.1",
        llm_api_key=SecretStr("sk-secret"),
        llm_timeout_s=3.5,
    )
    llm = get_llm(settings)  # nothing listens on that port: construction must not connect
    assert isinstance(llm, OpenAICompatibleLLM)
    assert llm.name == "llm:llama3.1"
    assert llm.url.endswith("/v1/chat/completions")
    assert llm.timeout_s == 3.5
    assert "sk-secret" not in repr(llm)


def test_settings_refuse_a_non_positive_timeout() -> None:
    with pytest.raises(ValidationError, match="llm_timeout_s"):
        Settings(llm_timeout_s=0)


def test_a_model_name_is_required() -> None:
    with pytest.raises(ValueError, match="model"):
        OpenAICompatibleLLM("http://127.0.0.1:1/v1", "")


def test_request_shape_and_bearer_key(server: ScriptedLLMServer) -> None:
    server.say("Hi there.")
    reply = server.llm(api_key="sk-test").complete(MESSAGES, max_tokens=64, temperature=0.2)
    assert reply == "Hi there."
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert request.body == {
        "model": "test-model",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello?"},
        ],
        "max_tokens": 64,
        "temperature": 0.2,
        "stream": False,
    }


def test_no_authorization_header_without_a_key(server: ScriptedLLMServer) -> None:
    server.say("ok")
    assert server.llm().complete(MESSAGES, max_tokens=8) == "ok"
    (request,) = server.requests
    assert "Authorization" not in request.headers
    assert request.body["temperature"] == 0.0


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (Scripted(completion("fine"), status=500), "HTTP 500"),
        (Scripted(completion("fine"), status=401), "HTTP 401"),
        (Scripted(b"<html>not json</html>"), "not JSON"),
        (Scripted(b'{"choices": []}'), "choices"),
        (Scripted(b'{"error": {"message": "overloaded"}}'), "choices"),
        (Scripted(completion(None)), "not text"),
        (Scripted(completion("too late"), delay_s=1.0), "no reply within"),
    ],
    ids=["500", "401", "garbage", "no-choices", "error-body", "null-content", "timeout"],
)
def test_failures_raise_llm_unavailable(
    server: ScriptedLLMServer, step: Scripted, message: str
) -> None:
    server.script.append(step)
    with pytest.raises(LLMUnavailable, match=message):
        server.llm(timeout_s=0.2).complete(MESSAGES, max_tokens=8)
    assert len(server.requests) == 1  # no retry on HTTP errors, bad bodies or timeouts


def test_a_refused_connection_raises_llm_unavailable() -> None:
    llm = OpenAICompatibleLLM(f"http://127.0.0.1:{_unused_port()}/v1", "m", timeout_s=2)
    with pytest.raises(LLMUnavailable, match="llm:m"):
        llm.complete(MESSAGES, max_tokens=8)


def test_one_retry_after_a_connection_reset(server: ScriptedLLMServer) -> None:
    server.script.append(Scripted(b"", reset=True))
    server.say("second time lucky")
    assert server.llm().complete(MESSAGES, max_tokens=8) == "second time lucky"
    assert len(server.requests) == 2


def test_two_resets_raise_llm_unavailable(server: ScriptedLLMServer) -> None:
    server.script.extend([Scripted(b"", reset=True), Scripted(b"", reset=True)])
    server.say("never reached")
    with pytest.raises(LLMUnavailable, match="twice"):
        server.llm().complete(MESSAGES, max_tokens=8)
    assert len(server.requests) == 2
