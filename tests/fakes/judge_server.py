"""An OpenAI- and Anthropic-compatible judge endpoint on 127.0.0.1, scripted per request.

Tests decide each reply (status code, delay, text, top logprobs) from the user message and how often that
message was already asked, so faults such as "429 twice, then answer" are deterministic under concurrency.
Run as a script it serves a fixed answer with a fixed latency, for bench/judge_throughput.py.
"""

import argparse
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROMPT_TOKENS = 100
COMPLETION_TOKENS = 2


@dataclass
class Reply:
    # None: the most likely of top_logprobs (as a greedy judge would answer), or "50" without them.
    text: str | None = None
    top_logprobs: list[tuple[str, float]] | None = None
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    message: str | None = None  # an error reply's error.message (default "injected <status>")
    no_choices: bool = False  # a 200 whose "choices" list is empty (seen from filtering proxies)
    truncated: bool = False  # the answer ran into max_tokens (finish_reason "length", stop_reason "max_tokens")


# (user message, how many times this exact message was asked before) -> reply
Script = Callable[[str, int], Reply]
# the whole request body -> a reply that replaces the script's (e.g. a 400 for a field the model rejects), or None
BodyCheck = Callable[[dict], Reply | None]


def _user_text(body: dict) -> str:
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(block.get("text", "") for block in content)


def _openai_body(reply: Reply, model: str) -> dict:
    logprobs = None
    top = reply.top_logprobs
    first = max(top, key=lambda candidate: candidate[1]) if top else (reply.text or "50", 0.0)
    text = reply.text if reply.text is not None else first[0]
    if top is not None:
        candidates = [{"token": t, "logprob": lp, "bytes": None} for t, lp in top]
        logprobs = {"content": [{"token": first[0], "logprob": first[1], "bytes": None, "top_logprobs": candidates}]}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [] if reply.no_choices else [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "length" if reply.truncated else "stop",
                "logprobs": logprobs,
            }
        ],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        },
    }


def _anthropic_body(reply: Reply, model: str) -> dict:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": reply.text or "50"}],
        "stop_reason": "max_tokens" if reply.truncated else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS},
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops bursts of concurrent connections into multi-second SYN retries.
    request_queue_size = 256


def score_by_text(user: str, attempt: int) -> Reply:
    """A judge whose score is a fixed function of the request text: runs judged by it are reproducible."""
    return Reply(top_logprobs=[(str(int(hashlib.sha256(user.encode()).hexdigest(), 16) % 101), 0.0)])


def judge_overrides(server: "FakeJudgeServer", key_env: str) -> list[str]:
    """Hydra overrides that make a run judge through this server with the openai backend (the real client);
    each request costs 100 prompt tokens x 10 USD per million = 0.001 USD."""
    return ["judge=openai", "judge.model=fake-judge", f"judge.base_url={server.url}/v1", f"judge.api_key_env={key_env}",
            "judge.input_cost_per_mtok=10.0", "judge.output_cost_per_mtok=0.0", "judge.backoff_s=0.01"]


class FakeJudgeServer:
    """Counts every POST in `requests` (and per path in `by_path`), the most handled at once in `max_in_flight`,
    and remembers the key headers seen and every request body (`bodies`, in arrival order)."""

    def __init__(self, script: Script, body_check: BodyCheck | None = None):
        self.script = script
        self.body_check = body_check
        self.requests = 0
        self.by_path: Counter[str] = Counter()
        self.auth_headers: set[str] = set()
        self.bodies: list[dict] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._asked: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> "FakeJudgeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def asked_more_than_once(self) -> list[str]:
        """Request texts that were sent more than once (retries included)."""
        with self._lock:
            return [user for user, n in self._asked.items() if n > 1]

    def _next_reply(self, path: str, body: dict, auth: str) -> Reply:
        user = _user_text(body)
        with self._lock:
            self.requests += 1
            self.by_path[path] += 1
            self.auth_headers.add(auth)
            self.bodies.append(body)
            attempt = self._asked[user]
            self._asked[user] += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        refusal = self.body_check(body) if self.body_check else None
        return refusal or self.script(user, attempt)

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do
            # Headers and body go out in two writes; with Nagle on, the body would wait ~40 ms for a delayed ACK.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                auth = self.headers.get("Authorization") or self.headers.get("x-api-key") or ""
                reply = server._next_reply(self.path, body, auth)
                time.sleep(reply.delay_s)
                server._done()
                if reply.status != 200:
                    payload = {"error": {"message": reply.message or f"injected {reply.status}", "type": "fake_error"}}
                elif self.path.endswith("/messages"):
                    payload = _anthropic_body(reply, body["model"])
                else:
                    payload = _openai_body(reply, body["model"])
                self._send(reply.status, payload, reply.headers)

            def do_GET(self) -> None:
                self._send(200, {"requests": server.requests}, {})

            def _send(self, status: int, payload: dict, headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and hung up: exactly what a slow reply is for

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fixed judge answer with a fixed latency on 127.0.0.1.")
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    server = FakeJudgeServer(lambda user, attempt: Reply(text="50", top_logprobs=[("50", 0.0)], delay_s=args.latency))
    with server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
