"""The LLM layer: OpenAIChat through the real openai client against a real local HTTP server; ScriptedLLM."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from synthml.agents.llm import (
    LLM,
    OpenAIChat,
    OpenAIChatConfig,
    Reply,
    ScriptedLLM,
    ToolCall,
    Usage,
    make_llm,
)
from synthml.errors import LLMError, LLMRequestRejected

KEY_ENV = "SYNTHML_TEST_LLM_KEY"
KEY = "sk-test-0123456789secret"
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hi."}]


def completion(text: str | None = "hi", tool_calls: list | None = None, usage: tuple = (1000, 500)) -> dict:
    """An OpenAI chat-completions response body."""
    message = {"role": "assistant", "content": text, **({"tool_calls": tool_calls} if tool_calls else {})}
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "served-model",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}}


def error(status: int, message: str) -> tuple:
    return status, {"error": {"message": message, "type": "error", "code": None}}, 0.0


class FakeOpenAI(ThreadingHTTPServer):
    """Speaks /v1/chat/completions; plays `script` (status, body, delay) in order, then a normal completion."""

    daemon_threads = True
    block_on_close = False  # handlers still sleeping past a client's timeout must not hold up the test

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[tuple] = []
        self.requests: list[dict] = []
        self.expected_auth = f"Bearer {KEY}"
        self.url = f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_response(self, auth: str | None) -> tuple:
        if auth != self.expected_auth:
            return error(401, f"Incorrect API key provided: {auth}")  # echoes the key, as some proxies do
        return self.script.pop(0) if self.script else (200, completion(), 0.0)


class Handler(BaseHTTPRequestHandler):
    server: FakeOpenAI

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        auth = self.headers.get("Authorization")
        self.server.requests.append({"path": self.path, "auth": auth, "body": body})
        status, payload, delay = self.server.next_response(auth)
        time.sleep(delay)
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        kind = "text/html" if isinstance(payload, str) else "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    httpd = FakeOpenAI()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)  # quick shutdown
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


def chat(server: FakeOpenAI, **overrides: object) -> OpenAIChat:
    fields = {"model": "test-model", "base_url": server.url, "api_key_env": KEY_ENV, "timeout_s": 5.0,
              "max_retries": 2, "retry_backoff_s": 0.01, **overrides}
    return OpenAIChat(OpenAIChatConfig(**fields))


def test_completion_text_usage_and_cost(server: FakeOpenAI, key: str) -> None:
    llm = chat(server, price_per_million_input=2.0, price_per_million_output=8.0, temperature=0.2,
               max_tokens=64, extra_body={"top_k": 20})
    reply = llm.complete(MESSAGES)
    assert (reply.text, reply.finish_reason, reply.model, reply.tool_calls) == ("hi", "stop", "served-model", [])
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.calls) == (1000, 500, 1)
    assert reply.usage.cost == pytest.approx(1000 * 2.0 / 1e6 + 500 * 8.0 / 1e6)
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    body = request["body"]
    assert (body["model"], body["messages"], body["temperature"], body["max_tokens"], body["top_k"]) == (
        "test-model", MESSAGES, 0.2, 64, 20)
    assert "top_p" not in body and "tools" not in body  # unset knobs leave the server's defaults
    assert llm.name == "test-model" and isinstance(llm, LLM)


def test_response_format_is_sent_as_given(server: FakeOpenAI, key: str) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    chat(server).complete(MESSAGES, response_format={"type": "json_object", "schema": schema})
    chat(server).complete(MESSAGES)
    assert server.requests[0]["body"]["response_format"] == {"type": "json_object", "schema": schema}
    assert "response_format" not in server.requests[1]["body"]


def test_tool_call_completion(server: FakeOpenAI, key: str) -> None:
    calls = [{"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": '{"cmd": "ls"}'}}]
    server.script = [(200, completion(text=None, tool_calls=calls), 0.0)]
    tools = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
    reply = chat(server).complete(MESSAGES, tools=tools)
    assert reply.tool_calls == [ToolCall(id="call_1", name="bash", arguments='{"cmd": "ls"}')]
    assert (reply.text, reply.finish_reason) == ("", "tool_calls")
    assert server.requests[0]["body"]["tools"] == tools


def test_retries_503_twice_then_succeeds(server: FakeOpenAI, key: str) -> None:
    server.script = [error(503, "overloaded"), error(503, "overloaded"), (200, completion("third time"), 0.0)]
    reply = chat(server, max_retries=2).complete(MESSAGES)
    assert len(server.requests) == 3
    assert reply.text == "third time" and reply.usage.calls == 1


def test_429_is_retried(server: FakeOpenAI, key: str) -> None:
    server.script = [error(429, "slow down")]
    assert chat(server).complete(MESSAGES).text == "hi"
    assert len(server.requests) == 2


def test_401_fails_at_once_naming_the_variable_without_echoing_the_key(server: FakeOpenAI, key: str) -> None:
    server.expected_auth = "Bearer another-key"
    with pytest.raises(LLMError, match=KEY_ENV) as raised:
        chat(server, max_retries=5).complete(MESSAGES)
    assert len(server.requests) == 1
    assert "401" in str(raised.value) and server.url in str(raised.value)
    assert KEY not in str(raised.value)  # the server echoed it; the message masks it


@pytest.mark.parametrize(("status", "hint"), [(404, "model name"), (400, "max_tokens")])
def test_client_errors_fail_at_once_with_the_fix(server: FakeOpenAI, key: str, status: int, hint: str) -> None:
    server.script = [error(status, "The model `test-model` does not exist")]
    with pytest.raises(LLMError, match=hint) as raised:
        chat(server).complete(MESSAGES)
    assert len(server.requests) == 1
    assert server.url in str(raised.value) and "test-model" in str(raised.value)
    assert isinstance(raised.value, LLMRequestRejected) == (status == 400)  # 400 blames the request, 404 the setup


def test_dead_endpoint_raises_naming_base_url_in_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    llm = OpenAIChat(OpenAIChatConfig(model="m", base_url=url, api_key_env=KEY_ENV, max_retries=2,
                                      retry_backoff_s=0.01, timeout_s=2.0))
    start = time.monotonic()
    with pytest.raises(LLMError, match="unreachable") as raised:
        llm.complete(MESSAGES)
    assert url in str(raised.value) and "3 attempts" in str(raised.value)
    assert time.monotonic() - start < 5


def test_timeouts_are_retried_then_raise(server: FakeOpenAI, key: str) -> None:
    server.script = [(200, completion(), 1.0), (200, completion(), 1.0)]
    start = time.monotonic()
    with pytest.raises(LLMError, match="unreachable.*APITimeoutError"):
        chat(server, timeout_s=0.2, max_retries=1).complete(MESSAGES)
    assert len(server.requests) == 2
    assert time.monotonic() - start < 1.5  # gave up on each request after timeout_s, not after the server's 1 s


def test_key_sent_as_bearer_but_never_stored(server: FakeOpenAI, key: str) -> None:
    llm = chat(server)
    llm.complete(MESSAGES)
    assert server.requests[0]["auth"] == f"Bearer {KEY}"
    assert KEY not in llm.config.model_dump_json() and KEY not in repr(llm) and KEY not in repr(llm.config)
    assert server.url in repr(llm)


def test_local_server_without_key_gets_placeholder(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    server.expected_auth = "Bearer EMPTY"
    assert chat(server).complete(MESSAGES).text == "hi"


def test_openai_without_key_says_which_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(LLMError, match=f"export {KEY_ENV}="):
        OpenAIChat(OpenAIChatConfig(model="gpt-4o-mini", api_key_env=KEY_ENV))


def test_empty_choices_are_returned_as_is(server: FakeOpenAI, key: str) -> None:
    server.script = [(200, {**completion(), "choices": []}, 0.0), (200, completion(text=""), 0.0)]
    llm = chat(server)
    empty = llm.complete(MESSAGES)
    assert (empty.text, empty.tool_calls, empty.finish_reason, empty.usage.prompt_tokens) == ("", [], None, 1000)
    assert llm.complete(MESSAGES).text == ""


@pytest.mark.parametrize("body", [{"hello": "world"}, "<html>502 Bad Gateway</html>", {"choices": ["x"]}])
def test_garbage_raises(server: FakeOpenAI, key: str, body: object) -> None:
    server.script = [(200, body, 0.0)]
    with pytest.raises(LLMError, match="not a chat completion|no message"):
        chat(server).complete(MESSAGES)
    assert len(server.requests) == 1


def test_scripted_llm_plays_in_order_and_records() -> None:
    llm = ScriptedLLM(["first", Reply(text="second", usage=Usage(cost=0.5, calls=1))])
    messages = [{"role": "user", "content": "x" * 40}]
    first = llm.complete(messages)
    messages.append({"role": "assistant", "content": first.text})
    second = llm.complete(messages)
    assert (first.text, second.text, first.model, llm.name) == ("first", "second", "scripted", "scripted")
    assert first.usage == Usage(prompt_tokens=10, completion_tokens=2, calls=1)  # characters / 4
    assert second.usage.cost == 0.5  # a Reply's own usage is kept
    assert llm.calls == [[{"role": "user", "content": "x" * 40}], messages]  # copies: later appends don't leak back
    assert isinstance(llm, LLM)


def test_scripted_llm_exhaustion_says_how_many() -> None:
    llm = ScriptedLLM(["only"], name="demo")
    llm.complete(MESSAGES)
    with pytest.raises(LLMError, match="'demo' ran out of replies: it had 1"):
        llm.complete(MESSAGES)


def test_usage_adds_up() -> None:
    parts = [Usage(prompt_tokens=1, completion_tokens=2, cost=0.25, calls=1)] * 3
    assert sum(parts) == Usage(prompt_tokens=3, completion_tokens=6, cost=0.75, calls=3)
    assert (parts[0] + parts[0]).total_tokens == 6


def test_make_llm(server: FakeOpenAI, key: str) -> None:
    llm = make_llm({"model": "m", "base_url": server.url, "api_key_env": KEY_ENV})
    assert isinstance(llm, OpenAIChat) and llm.complete(MESSAGES).text == "hi"
    scripted = ScriptedLLM([])
    assert make_llm(scripted) is scripted
    assert make_llm(OpenAIChatConfig(model="m2", base_url=server.url)).name == "m2"


def test_make_llm_rejects_bad_configs_without_echoing_values() -> None:
    with pytest.raises(LLMError, match="environment variable"):
        make_llm({"model": "m", "api_key": KEY})
    with pytest.raises(LLMError, match="'temprature'") as raised:
        make_llm({"model": "m", "temprature": KEY})
    assert KEY not in str(raised.value)
    with pytest.raises(LLMError, match="not an LLM spec"):
        make_llm(42)  # type: ignore[arg-type]


def test_retries_run_out_after_max_retries_plus_one_requests(server: FakeOpenAI, key: str) -> None:
    server.script = [error(503, "overloaded")] * 3
    with pytest.raises(LLMError, match="unreachable") as raised:
        chat(server, max_retries=1).complete(MESSAGES)
    assert len(server.requests) == 2  # ours are the only retries: the SDK's own are off
    assert server.url in str(raised.value) and "InternalServerError" in str(raised.value)
