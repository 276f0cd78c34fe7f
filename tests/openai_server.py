"""A local OpenAI-compatible HTTP server for tests, the benchmark and the demo.

It speaks the parts of the OpenAI REST API the platform uses, over real HTTP, so the real
``openai`` client can be pointed at it:

* ``POST /v1/chat/completions`` (structured outputs, refusals, usage);
* ``POST /v1/files`` (multipart upload), ``GET /v1/files/{id}``, ``GET /v1/files/{id}/content``;
* ``POST /v1/batches``, ``GET /v1/batches`` (list), ``GET /v1/batches/{id}``,
  ``POST /v1/batches/{id}/cancel`` (a batch completes after a set number of polls);
* ``POST /v1/fine_tuning/jobs``, ``GET /v1/fine_tuning/jobs/{id}`` (the training file is
  checked to be chat-format JSONL; the job succeeds after a set number of polls);
* ``GET /_stats`` (not OpenAI): request counts, for the benchmark.

By default a chat request gets a plausible BI-RADS answer computed from its text (keywords of
the findings, with seeded jitter, so repeated runs sometimes differ). Tests script other
behaviours: :meth:`FakeOpenAIServer.enqueue` queues behaviours for the next requests,
:meth:`FakeOpenAIServer.when` for requests whose user message contains a string. Every
request is recorded (:attr:`FakeOpenAIServer.requests`).

Command line (for the demo)::

    python -m tests.openai_server --port 8011 [--latency 0.2] [--rate-limit-every 25]
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import hashlib
import itertools
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# ---------------------------------------------------------------------------- behaviours


@dataclass(frozen=True)
class Behaviour:
    """What the server does with one chat request."""

    kind: str
    content: str = ""
    category: int | None = None
    impression: str = ""
    management: str = ""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0


def answer(category: int | None = None, impression: str = "", management: str = "") -> Behaviour:
    """A JSON answer (fields not given are computed from the request)."""
    return Behaviour("answer", category=category, impression=impression, management=management)


def malformed(content: str = '{"category": 4, "impression": "Segmental NME') -> Behaviour:
    """Content that is not valid JSON."""
    return Behaviour("text", content=content)


def text(content: str) -> Behaviour:
    """Any message content, as given."""
    return Behaviour("text", content=content)


def refusal(message: str = "I'm sorry, I can't help with that request.") -> Behaviour:
    """A refusal in ``message.refusal`` (what OpenAI structured outputs return)."""
    return Behaviour("refusal", content=message)


def content_filter() -> Behaviour:
    return Behaviour("content_filter")


def truncated() -> Behaviour:
    """An answer cut off at the token limit (finish_reason ``length``)."""
    return Behaviour("truncated", content='{"category": 4, "impression": "Segmental non-mass')


def status(
    code: int,
    *,
    retry_after_ms: int | None = None,
    retry_after: str | None = None,
    message: str = "",
) -> Behaviour:
    """An HTTP error (429, 500, 503, 400, ...) with an OpenAI-style error body."""
    headers = []
    if retry_after_ms is not None:
        headers.append(("retry-after-ms", str(retry_after_ms)))
    if retry_after is not None:
        headers.append(("retry-after", retry_after))
    return Behaviour("status", status=code, headers=tuple(headers), content=message)


def redirect(location: str, code: int = 307) -> Behaviour:
    """An HTTP redirect to ``location`` (a server or a gateway sending the client elsewhere)."""
    return Behaviour("status", status=code, headers=(("location", location),), content="moved")


def page(content: str, code: int = 200) -> Behaviour:
    """A body that is not JSON at all (an HTML page of some other service)."""
    return Behaviour("page", status=code, content=content)


def echo_key() -> Behaviour:
    """A 401 whose message repeats the bearer token, as some servers do."""
    return Behaviour("echo_key", status=401)


def slow(seconds: float) -> Behaviour:
    """Answer normally, but only after ``seconds`` (longer than the client timeout: a timeout)."""
    return Behaviour("slow", seconds=seconds)


# ------------------------------------------------------------------------ default answers

_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("segmental", 1.5),
    ("linear", 1.0),
    ("clustered ring", 2.0),
    ("clumped", 1.5),
    ("heterogeneous", 0.5),
    ("type iii", 1.5),
    ("washout", 0.5),
    ("type ii", 0.5),
    ("restricted diffusion", 1.0),
    ("calcification", 0.5),
    ("nipple", 0.3),
)
_ADC = re.compile(r"ADC\s*(?:of\s*)?([0-9]+(?:\.[0-9]+)?)")
_MANAGEMENT = {
    0: "Additional imaging evaluation is needed.",
    1: "Routine screening is recommended.",
    2: "Routine screening is recommended.",
    3: "Short-interval follow-up MRI in 6 months is recommended.",
    4: "Biopsy is recommended.",
    5: "Biopsy and pathological confirmation are strongly recommended.",
    6: "Appropriate action according to the known malignancy.",
}
_LABELS = {2: "Benign", 3: "Probably benign", 4: "Suspicious", 5: "Highly suggestive of malignancy"}


def _user_text(body: dict[str, Any]) -> str:
    parts = []
    for message in body.get("messages", []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if p.get("type") == "text")
    return "\n".join(parts)


def _images(body: dict[str, Any]) -> int:
    n = 0
    for message in body.get("messages", []):
        if isinstance(message.get("content"), list):
            n += sum(1 for p in message["content"] if p.get("type") == "image_url")
    return n


def _allowed_categories(body: dict[str, Any]) -> list[int]:
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or {}
    enum = ((schema.get("properties") or {}).get("category") or {}).get("enum")
    return [c for c in enum if isinstance(c, int)] if isinstance(enum, list) else list(range(7))


def plausible_answer(body: dict[str, Any], serial: int) -> dict[str, Any]:
    """A BI-RADS answer from keywords of the request text, with seeded jitter."""
    user = _user_text(body)
    low = user.lower()
    score = sum(weight for word, weight in _WEIGHTS if word in low)
    adc = _ADC.search(user)
    if adc and float(adc.group(1)) < 1.2:
        score += 1.0
    seed = body.get("seed")
    key = f"{user}|{seed if seed is not None else serial}".encode()
    rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
    score += rng.uniform(-1.0, 1.0) + (0.6 * _images(body) ** 0.5 if not user.strip() else 0)
    category = 2 if score < 1.5 else 3 if score < 2.5 else 4 if score < 4.0 else 5
    allowed = _allowed_categories(body)
    if category not in allowed and allowed:
        category = min(allowed, key=lambda c: abs(c - category))
    location = ""
    match = re.search(r"location:\s*([^\n]+)", user, re.IGNORECASE)
    if match:
        location = match.group(1).strip().rstrip(".").capitalize() + ": "
    impression = (
        f"{location}non-mass enhancement; {_LABELS.get(category, 'assessment')}. "
        f"Assessment: BI-RADS {category}."
    )
    return {
        "category": category,
        "impression": impression,
        "management": _MANAGEMENT.get(category, "Clinical correlation is recommended."),
    }


# -------------------------------------------------------------------------------- server


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class _Batch:
    data: dict[str, Any]
    polls: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)


class FakeOpenAIServer:
    """The server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        batch_polls: int = 1,
        job_polls: int = 2,
        rate_limit_every: int = 0,
    ) -> None:
        self.host, self.port = host, port
        self.latency = latency
        self.batch_polls = batch_polls
        self.job_polls = job_polls
        self.rate_limit_every = rate_limit_every
        self.requests: list[Recorded] = []
        self.chat_requests = 0
        self.context_violations = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, _Batch] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self._queue: deque[Behaviour] = deque()
        self._rules: list[tuple[str, deque[Behaviour]]] = []
        self._script: Callable[[dict[str, Any]], Behaviour | None] | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # scripting --------------------------------------------------------------------
    def enqueue(self, *behaviours: Behaviour) -> None:
        """The next chat requests (any) get these behaviours, in order."""
        with self._lock:
            self._queue.extend(behaviours)

    def when(self, contains: str, *behaviours: Behaviour) -> None:
        """Requests whose user text contains ``contains`` get these behaviours, in order."""
        with self._lock:
            self._rules.append((contains, deque(behaviours)))

    def script(self, behave: Callable[[dict[str, Any]], Behaviour | None] | None) -> None:
        """Requests that no queued behaviour or rule answers get ``behave(body)`` (None: the
        default answer). A scripted rater, e.g. an LLM judge answering from the prompt."""
        with self._lock:
            self._script = behave

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._rules.clear()
            self._script = None
            self.requests.clear()
            self.chat_requests = 0
            self.context_violations = 0
            self.max_in_flight = 0

    def chat_bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    # lifecycle --------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def origin(self) -> str:
        """What to put in ``GENERATION_ALLOWED_BASE_URLS`` to let the platform reach it."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeOpenAIServer:
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = _Server((self.host, self.port), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # internals --------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):06d}"

    def behaviour_for(self, body: dict[str, Any]) -> tuple[Behaviour, int]:
        user = _user_text(body)
        with self._lock:
            self.chat_requests += 1
            serial = self.chat_requests
            roles = [m.get("role") for m in body.get("messages", [])]
            if roles not in (["system", "user"], ["user"]):
                self.context_violations += 1
            for contains, queue in self._rules:
                if contains in user and queue:
                    return queue.popleft(), serial
            if self._queue:
                return self._queue.popleft(), serial
            behave = self._script
        scripted = behave(body) if behave is not None else None
        if scripted is not None:
            return scripted, serial
        if self.rate_limit_every and serial % self.rate_limit_every == 0:
            return status(429, retry_after_ms=50), serial
        return answer(), serial

    def completion(
        self, body: dict[str, Any], behaviour: Behaviour, serial: int, auth: str
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """The status, JSON body and headers of the answer to a chat request."""
        if behaviour.kind == "status":
            error_message = behaviour.content or {
                429: "Rate limit reached, retry later.",
                500: "The server had an error.",
                503: "The engine is overloaded.",
            }.get(behaviour.status, "Bad request.")
            return (
                behaviour.status,
                _error(
                    error_message,
                    "server_error"
                    if behaviour.status >= 500
                    else "rate_limit_exceeded"
                    if behaviour.status == 429
                    else "invalid_request_error",
                ),
                list(behaviour.headers),
            )
        if behaviour.kind == "echo_key":
            return 401, _error(f"Incorrect API key provided: {auth}.", "invalid_api_key"), []
        prompt_tokens = max(1, len(json.dumps(body.get("messages", []))) // 4)
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        finish = "stop"
        if behaviour.kind in ("answer", "slow"):
            data = plausible_answer(body, serial)
            if behaviour.category is not None:
                data["category"] = behaviour.category
            if behaviour.impression:
                data["impression"] = behaviour.impression
            if behaviour.management:
                data["management"] = behaviour.management
            message["content"] = json.dumps(data)
        elif behaviour.kind == "text":
            message["content"] = behaviour.content
        elif behaviour.kind == "refusal":
            message["refusal"] = behaviour.content
        elif behaviour.kind == "content_filter":
            finish = "content_filter"
        elif behaviour.kind == "truncated":
            message["content"] = behaviour.content
            finish = "length"
        completion_tokens = max(1, len(message["content"] or message["refusal"] or "") // 4)
        return (
            200,
            {
                "id": f"chatcmpl-{serial:08d}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
                "system_fingerprint": "fp_fake",
                "choices": [
                    {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
            [],
        )

    def run_batch(self, batch: _Batch, auth: str) -> None:
        """Answer every line of a batch's input file and write its output and error files."""
        data = batch.data
        source = self.files[data["input_file_id"]]["content"].decode()
        out, err = [], []
        completed = failed = 0
        for line in source.splitlines():
            if not line.strip():
                continue
            request = json.loads(line)
            behaviour, serial = self.behaviour_for(request["body"])
            code, payload, _ = self.completion(request["body"], behaviour, serial, auth)
            record = {
                "id": self.new_id("batch_req"),
                "custom_id": request["custom_id"],
                "response": {
                    "status_code": code,
                    "request_id": self.new_id("req"),
                    "body": payload,
                },
                "error": None,
            }
            if code == 200:
                completed += 1
                out.append(record)
            else:
                failed += 1
                err.append(record)
        for key, records in (("output_file_id", out), ("error_file_id", err)):
            if records:
                content = "".join(json.dumps(r) + "\n" for r in records).encode()
                data[key] = self.add_file(content, "batch_output", f"{key}.jsonl")["id"]
        data["request_counts"] = {
            "total": completed + failed,
            "completed": completed,
            "failed": failed,
        }

    def add_file(self, content: bytes, purpose: str, filename: str) -> dict[str, Any]:
        file_id = self.new_id("file")
        record = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "content": content,
        }
        self.files[file_id] = record
        return record


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": code, "param": None, "code": code}}


def _public_file(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "content"}


def _check_chat(body: Any) -> str:
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model is required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty array"
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            return "each message needs a role"
        if not isinstance(m.get("content"), (str, list)):
            return "each message needs content"
    fmt = body.get("response_format")
    if fmt is not None:
        if fmt.get("type") == "json_schema":
            js = fmt.get("json_schema") or {}
            if not js.get("name") or not isinstance(js.get("schema"), dict):
                return "response_format.json_schema needs a name and a schema"
        elif fmt.get("type") not in ("json_object", "text"):
            return "response_format.type is invalid"
    return ""


def _check_training_file(content: bytes) -> str:
    for number, line in enumerate(content.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            example = json.loads(line)
        except ValueError:
            return f"line {number}: not JSON"
        messages = example.get("messages") if isinstance(example, dict) else None
        if not isinstance(messages, list) or not messages:
            return f"line {number}: no messages"
        if messages[-1].get("role") != "assistant":
            return f"line {number}: the last message must be the assistant's"
    return ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connect at once (the default 5 stalls them 1 s)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    # plumbing ---------------------------------------------------------------------
    def _read(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        code: int,
        payload: Any,
        headers: list[tuple[str, str]] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        try:
            self.send_response(code)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", self.fake.new_id("req"))
            for name, value in headers or []:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def _record(self, body: Any) -> None:
        with self.fake._lock:
            self.fake.requests.append(
                Recorded(self.command, self.path, dict(self.headers), body, time.time())
            )

    @property
    def _auth(self) -> str:
        value = self.headers.get("authorization", "")
        return value[len("Bearer ") :] if value.startswith("Bearer ") else value

    # routes -----------------------------------------------------------------------
    def do_POST(self) -> None:
        raw = self._read()
        path = self.path.split("?", 1)[0]
        if path.endswith("/files"):
            return self._upload(raw)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._record(raw.decode(errors="replace"))
            return self._send(400, _error("the body is not JSON", "invalid_request_error"))
        self._record(body)
        if path.endswith("/chat/completions"):
            return self._chat(body)
        if path.endswith("/batches"):
            return self._batch_create(body)
        match = re.search(r"/batches/([^/]+)/cancel$", path)
        if match:
            return self._batch_cancel(match.group(1))
        if path.endswith("/fine_tuning/jobs"):
            return self._job_create(body)
        return self._send(404, _error(f"no route {path}", "not_found"))

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self._record(None)
        if path == "/_stats":
            fake = self.fake
            return self._send(
                200,
                {
                    "chat_requests": fake.chat_requests,
                    "context_violations": fake.context_violations,
                    "max_in_flight": fake.max_in_flight,
                    "requests": len(fake.requests),
                },
            )
        match = re.search(r"/files/([^/]+)/content$", path)
        if match:
            record = self.fake.files.get(match.group(1))
            if record is None:
                return self._send(404, _error("no such file", "not_found"))
            return self._send(
                200, None, raw=record["content"], content_type="application/octet-stream"
            )
        match = re.search(r"/files/([^/]+)$", path)
        if match:
            record = self.fake.files.get(match.group(1))
            if record is None:
                return self._send(404, _error("no such file", "not_found"))
            return self._send(200, _public_file(record))
        if path.endswith("/batches"):
            data = [b.data for b in self.fake.batches.values()]
            return self._send(
                200,
                {
                    "object": "list",
                    "data": data,
                    "has_more": False,
                    "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None,
                },
            )
        match = re.search(r"/batches/([^/]+)$", path)
        if match:
            return self._batch_retrieve(match.group(1))
        match = re.search(r"/fine_tuning/jobs/([^/]+)$", path)
        if match:
            return self._job_retrieve(match.group(1))
        return self._send(404, _error(f"no route {path}", "not_found"))

    # chat -------------------------------------------------------------------------
    def _chat(self, body: Any) -> None:
        problem = _check_chat(body)
        if problem:
            return self._send(400, _error(problem, "invalid_request_error"))
        fake = self.fake
        with fake._lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            behaviour, serial = fake.behaviour_for(body)
            delay = fake.latency + (behaviour.seconds if behaviour.kind == "slow" else 0.0)
            if delay:
                time.sleep(delay)
            if behaviour.kind == "page":
                code, payload, headers = behaviour.status, None, []
            else:
                code, payload, headers = fake.completion(body, behaviour, serial, self._auth)
        finally:
            with fake._lock:
                fake.in_flight -= 1
        if behaviour.kind == "page":
            raw = behaviour.content.encode()
            return self._send(code, None, raw=raw, content_type="text/html; charset=utf-8")
        self._send(code, payload, headers)

    # files ------------------------------------------------------------------------
    def _upload(self, raw: bytes) -> None:
        content_type = self.headers.get("content-type", "")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
        )
        fields: dict[str, tuple[bytes, str]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename() or ""
            fields[str(name)] = (part.get_payload(decode=True) or b"", filename)
        self._record(
            {
                "purpose": fields.get("purpose", (b"", ""))[0].decode(),
                "filename": fields.get("file", (b"", ""))[1],
            }
        )
        if "file" not in fields or "purpose" not in fields:
            return self._send(400, _error("file and purpose are required", "invalid_request_error"))
        content, filename = fields["file"]
        record = self.fake.add_file(content, fields["purpose"][0].decode(), filename)
        self._send(200, _public_file(record))

    # batches ----------------------------------------------------------------------
    def _batch_create(self, body: dict[str, Any]) -> None:
        record = self.fake.files.get(body.get("input_file_id", ""))
        if record is None or record["purpose"] != "batch":
            return self._send(
                400, _error("input_file_id must be an uploaded batch file", "invalid_request_error")
            )
        now = int(time.time())
        batch_id = self.fake.new_id("batch")
        data = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body.get("endpoint"),
            "errors": None,
            "input_file_id": body["input_file_id"],
            "completion_window": body.get("completion_window", "24h"),
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": None,
            "expires_at": now + 86400,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata") or {},
        }
        self.fake.batches[batch_id] = _Batch(data)
        self._send(200, data)

    def _batch_retrieve(self, batch_id: str) -> None:
        batch = self.fake.batches.get(batch_id)
        if batch is None:
            return self._send(404, _error("no such batch", "not_found"))
        data = batch.data
        if data["status"] in ("validating", "in_progress"):
            batch.polls += 1
            if batch.polls >= self.fake.batch_polls:
                self.fake.run_batch(batch, self._auth)
                data["status"], data["completed_at"] = "completed", int(time.time())
            else:
                data["status"], data["in_progress_at"] = "in_progress", int(time.time())
        elif data["status"] == "cancelling":
            data["status"], data["cancelled_at"] = "cancelled", int(time.time())
        self._send(200, data)

    def _batch_cancel(self, batch_id: str) -> None:
        batch = self.fake.batches.get(batch_id)
        if batch is None:
            return self._send(404, _error("no such batch", "not_found"))
        if batch.data["status"] in ("validating", "in_progress"):
            batch.data["status"] = "cancelling"
        self._send(200, batch.data)

    # fine-tuning ------------------------------------------------------------------
    def _job_create(self, body: dict[str, Any]) -> None:
        record = self.fake.files.get(body.get("training_file", ""))
        if record is None or record["purpose"] != "fine-tune":
            return self._send(
                400,
                _error("training_file must be an uploaded fine-tune file", "invalid_request_error"),
            )
        problem = _check_training_file(record["content"])
        if problem:
            return self._send(
                400, _error(f"invalid training file: {problem}", "invalid_request_error")
            )
        hyper = (
            ((body.get("method") or {}).get("supervised") or {}).get("hyperparameters")
            or body.get("hyperparameters")
            or {}
        )
        job = {
            "id": self.fake.new_id("ftjob"),
            "object": "fine_tuning.job",
            "created_at": int(time.time()),
            "error": None,
            "fine_tuned_model": None,
            "finished_at": None,
            "hyperparameters": {
                "batch_size": hyper.get("batch_size", "auto"),
                "learning_rate_multiplier": hyper.get("learning_rate_multiplier", "auto"),
                "n_epochs": hyper.get("n_epochs", "auto"),
            },
            "model": body.get("model"),
            "organization_id": "org-fake",
            "result_files": [],
            "seed": body.get("seed") or 42,
            "status": "validating_files",
            "trained_tokens": None,
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file"),
            "metadata": body.get("metadata"),
            "_polls": 0,
            "_suffix": body.get("suffix") or "readerstudy",
        }
        self.fake.jobs[job["id"]] = job
        self._send(200, {k: v for k, v in job.items() if not k.startswith("_")})

    def _job_retrieve(self, job_id: str) -> None:
        job = self.fake.jobs.get(job_id)
        if job is None:
            return self._send(404, _error("no such job", "not_found"))
        job["_polls"] += 1
        if job["status"] not in ("succeeded", "failed", "cancelled"):
            if job["_polls"] >= self.fake.job_polls:
                job["status"] = "succeeded"
                job["finished_at"] = int(time.time())
                job["fine_tuned_model"] = (
                    f"ft:{job['model']}:readerstudy:{job['_suffix']}:{job_id[-6:]}"
                )
                job["trained_tokens"] = self.fake.files[job["training_file"]]["bytes"] // 4
            else:
                job["status"] = "running"
        self._send(200, {k: v for k, v in job.items() if not k.startswith("_")})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.openai_server", description="A local OpenAI-compatible test server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument(
        "--latency", type=float, default=0.05, help="seconds before each chat answer (default 0.05)"
    )
    parser.add_argument(
        "--rate-limit-every",
        type=int,
        default=0,
        help="answer every Nth chat request with a 429 (shows the retries)",
    )
    parser.add_argument(
        "--batch-polls", type=int, default=2, help="polls until a batch completes (default 2)"
    )
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(
        args.host,
        args.port,
        latency=args.latency,
        batch_polls=args.batch_polls,
        rate_limit_every=args.rate_limit_every,
    ).start()
    print(f"OpenAI-compatible test server on {server.url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
