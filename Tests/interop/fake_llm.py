"""A scriptable OpenAI-compatible model server for the Python suites.

It speaks the real `chat.completion.chunk` SSE format (text deltas, streamed `tool_calls`, a usage
chunk, `data: [DONE]`), like the Swift suites' `FakeUpstream`. Tests queue answers; a request with
nothing queued gets the fallback answer. Every request body is kept in `requests`.
"""
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    """One scripted model answer: text tokens, or tool calls (`[(id, name, arguments_json)]`)."""
    tokens: list = field(default_factory=list)
    tool_calls: list = field(default_factory=list)
    delay: float = 0.0  # seconds between chunks, to make streaming observable
    status: int = 200   # a non-200 status answers with an OpenAI-style error body instead

    @staticmethod
    def text(text_or_tokens, delay=0.0):
        tokens = text_or_tokens if isinstance(text_or_tokens, list) else text_or_tokens.split(" ")
        if not isinstance(text_or_tokens, list):
            tokens = [t if i == 0 else " " + t for i, t in enumerate(tokens)]
        return Answer(tokens=tokens, delay=delay)

    @staticmethod
    def calls(*calls, delay=0.0):
        """`calls` are `(id, name, arguments)`; `arguments` a dict or a JSON string."""
        normalized = [(i, n, a if isinstance(a, str) else json.dumps(a)) for i, n, a in calls]
        return Answer(tool_calls=normalized, delay=delay)


def _chunk(delta, finish=None, usage=None):
    body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "fake",
            "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n".encode()


class FakeLLM:
    def __init__(self, fallback=None):
        self._lock = threading.Lock()
        self._queue = []
        self.fallback = fallback or (lambda body: Answer.text("ok"))
        self.requests = []
        handler = self._handler()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def reset(self):
        with self._lock:
            self._queue.clear()
            self.requests.clear()
        self.fallback = lambda body: Answer.text("ok")

    def enqueue(self, *answers):
        """Queues answers for the next requests, in order."""
        with self._lock:
            self._queue.extend(answers)

    def _next(self, body):
        with self._lock:
            self.requests.append(body)
            if self._queue:
                return self._queue.pop(0)
        return self.fallback(body)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "test"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found"}})
                    return
                answer = fake._next(body)
                if answer.status != 200:
                    self._json(answer.status, {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                if not body.get("stream"):
                    self._complete(answer)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    self._stream(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def _stream(self, answer):
                def send(data):
                    self.wfile.write(data)
                    self.wfile.flush()
                    if answer.delay:
                        time.sleep(answer.delay)
                send(_chunk({"role": "assistant", "content": "" if not answer.tool_calls else None}))
                for token in answer.tokens:
                    send(_chunk({"content": token}))
                for index, (call_id, name, arguments) in enumerate(answer.tool_calls):
                    send(_chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                                 "function": {"name": name, "arguments": ""}}]}))
                    for start in range(0, len(arguments), 8):
                        send(_chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[start:start + 8]}}]}))
                send(_chunk({}, finish="tool_calls" if answer.tool_calls else "stop"))
                send(_chunk(None, usage={"prompt_tokens": 5, "completion_tokens": max(1, len(answer.tokens)),
                                         "total_tokens": 5 + max(1, len(answer.tokens))}))
                send(b"data: [DONE]\n\n")

            def _complete(self, answer):
                message = {"role": "assistant", "content": "".join(answer.tokens) if not answer.tool_calls else None}
                if answer.tool_calls:
                    message["tool_calls"] = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}}
                                             for i, n, a in answer.tool_calls]
                self._json(200, {"id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": "fake",
                                 "choices": [{"index": 0, "message": message,
                                              "finish_reason": "tool_calls" if answer.tool_calls else "stop"}],
                                 "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
