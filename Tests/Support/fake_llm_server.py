#!/usr/bin/env python3
"""A scriptable fake of the OpenAI Chat Completions and Anthropic Messages APIs.

Test support for agentq's HTTP model providers. Standard library only (Python 3.11).

    python3 fake_llm_server.py [--port 0] [--verbose] [--exit-on-stdin-eof]

Binds 127.0.0.1 only, prints exactly `PORT <n>` as the first stdout line, then serves
until killed (SIGTERM exits with status 0). Nothing else is written to stdout; request
logging goes to stderr only with --verbose (so an unread stderr pipe can never block it).

Provider endpoints (the `/v1` prefix is optional):
    POST /v1/chat/completions   OpenAI Chat Completions (JSON or SSE with "stream": true)
    POST /v1/messages           Anthropic Messages      (JSON or SSE with "stream": true)

Control endpoints:
    POST /_control/script  {"family": "openai"|"anthropic", "steps": [STEP, ...]}
    GET  /_control/script  pending steps per family
    GET  /_control/log     every provider request received, in order
    POST /_control/reset   clears scripts and the log
    GET  /_control/health  {"ok": true}

Each provider request consumes the head step of its family's FIFO, or gets the default
answer when that FIFO is empty. A step with "repeat": true is never consumed. Requests
that fail validation (bad JSON, missing model/messages, Anthropic without max_tokens) are
answered 400 and logged, but consume no step.

STEP kinds (all optional fields in brackets):
    ok       [text] [tool_calls: [{name, [arguments: str|obj], [id]}]] [stop_reason|finish_reason]
             [usage: {...}]  explicit answer (no text and no tool_calls -> default answer text)
    status   status [headers] [body: obj|str] [error_type] [message] [code] [delay]
             provider-shaped error (default body from the status and family), sent
             `delay` seconds after the request arrived; the log entry gets "answered_at"
    drop     [after] [delay] [mode: "reset"|"close"]  stream: `after` events, then TCP reset;
             non-stream: no response at all
    truncate stream: everything except the finish (OpenAI: finish chunk, usage chunk,
             [DONE]; Anthropic: message_delta, message_stop), then a clean end of body;
             non-stream: Content-Length of the full body, half of it sent, then close
    corrupt  [at]  stream: one `data:` line of invalid JSON in the middle, the rest normal;
             non-stream: 200 with a body that is not valid JSON
    stall    seconds [after]  stream: `after` (1) events, sleep, the rest;
             non-stream: sleep, then answer
    stream_error / anthropic_stream_error  [after]  stream: a mid-stream error (Anthropic
             `event: error` overloaded_error; OpenAI `data: {"error": ...}`), then a clean end;
             non-stream: 529 overloaded_error (Anthropic) / 500 server_error (OpenAI)
Any kind but "status" also takes text/tool_calls/stop_reason/usage to shape the content it
delivers, and "split": true to cut every SSE event across two HTTP chunks.
"""

import argparse
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

VERBOSE = False
FAMILIES = ("openai", "anthropic")
STEP_KINDS = (
    "ok", "status", "drop", "truncate", "corrupt", "stall", "stream_error", "anthropic_stream_error",
)

_lock = threading.Lock()
_scripts = {family: [] for family in FAMILIES}
_log = []


def _next_step_locked(family):
    queue = _scripts[family]
    if not queue:
        return None
    step = queue[0]
    if not step.get("repeat"):
        queue.pop(0)
    return step


# ---------------------------------------------------------------------------------------
# Reading requests


def _words(text):
    return len(text.split()) if isinstance(text, str) else 0


def _openai_text(content):
    """Text of an OpenAI message content: a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return ""


def _anthropic_blocks(content):
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def _anthropic_result_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content
                         if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""


def _messages(body):
    messages = body.get("messages")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _openai_conversation(body):
    """(last user text, tool results after it, input word count)."""
    messages = _messages(body)
    words = 0
    last_user = None
    for index, message in enumerate(messages):
        words += _words(_openai_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                words += _words(str(call["function"].get("arguments", "")))
        if message.get("role") == "user":
            last_user = index
    user_text = _openai_text(messages[last_user].get("content")) if last_user is not None else ""
    start = last_user + 1 if last_user is not None else 0
    results = [_openai_text(m.get("content")) for m in messages[start:] if m.get("role") == "tool"]
    return user_text, results, words


def _anthropic_conversation(body):
    messages = _messages(body)
    words = 0
    system = body.get("system")
    if isinstance(system, str):
        words += _words(system)
    elif isinstance(system, list):
        words += sum(_words(b.get("text")) for b in system if isinstance(b, dict))
    last_user = None
    for index, message in enumerate(messages):
        blocks = _anthropic_blocks(message.get("content"))
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                words += _words(block.get("text"))
            elif kind == "tool_result":
                words += _words(_anthropic_result_text(block.get("content")))
            elif kind == "tool_use":
                words += _words(json.dumps(block.get("input", {})))
        if message.get("role") == "user" and any(b.get("type") != "tool_result" for b in blocks):
            last_user = index
    user_text = ""
    if last_user is not None:
        texts = [b.get("text") for b in _anthropic_blocks(messages[last_user].get("content"))
                 if b.get("type") == "text" and isinstance(b.get("text"), str)]
        user_text = texts[-1] if texts else ""
    start = last_user + 1 if last_user is not None else 0
    results = []
    for message in messages[start:]:
        if message.get("role") == "user":
            for block in _anthropic_blocks(message.get("content")):
                if block.get("type") == "tool_result":
                    results.append(_anthropic_result_text(block.get("content")))
    return user_text, results, words


_CALL_LINE = re.compile(r"^\s*/call\s+([A-Za-z0-9_.:\-]+)[ \t]*(.*?)\s*$")


def _default_answer(user_text, tool_results):
    """(text, tool_calls) for a request nothing was scripted for."""
    call = None
    for line in user_text.splitlines():
        match = _CALL_LINE.match(line)
        if match:
            call = {"name": match.group(1), "arguments": match.group(2) or "{}"}
            break
    if tool_results:
        if call:
            return "fake: tool said " + tool_results[0][:80], []
        return "fake: done after tools", []
    if call:
        return "", [call]
    return "fake: " + user_text, []


# ---------------------------------------------------------------------------------------
# Planning an answer


_OPENAI_FINISH = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                  "stop_sequence": "stop"}
_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def _deep_merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def _plan(family, body, step):
    if family == "openai":
        user_text, results, input_words = _openai_conversation(body)
    else:
        user_text, results, input_words = _anthropic_conversation(body)
    step = step or {}
    if "text" in step or "tool_calls" in step:
        text = step.get("text") or ""
        raw_calls = step.get("tool_calls") or []
    else:
        text, raw_calls = _default_answer(user_text, results)
    calls = []
    for raw in raw_calls:
        if not isinstance(raw, dict):
            continue
        arguments = raw.get("arguments", "{}")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        prefix = "call_" if family == "openai" else "toolu_"
        call = {"id": raw.get("id") or prefix + uuid.uuid4().hex[:24],
                "name": str(raw.get("name", "tool")), "arguments": arguments}
        try:
            call["input"] = json.loads(arguments)
            call["valid"] = isinstance(call["input"], dict)
        except ValueError:
            call["valid"] = False
        if not call["valid"]:
            call["input"] = arguments  # Anthropic non-stream: the raw string, not an object
        call["json"] = json.dumps(call["input"], ensure_ascii=False) if call["valid"] else arguments
        calls.append(call)
    stop = step.get("stop_reason") or step.get("finish_reason")
    if family == "openai":
        stop = _OPENAI_FINISH.get(stop, stop) if stop else ("tool_calls" if calls else "stop")
    else:
        stop = _ANTHROPIC_STOP.get(stop, stop) if stop else ("tool_use" if calls else "end_turn")
    output_words = _words(text) + sum(_words(c["arguments"]) for c in calls)
    if family == "openai":
        usage = {"prompt_tokens": input_words, "completion_tokens": output_words,
                 "total_tokens": input_words + output_words,
                 "prompt_tokens_details": {"cached_tokens": 0},
                 "completion_tokens_details": {"reasoning_tokens": 0}}
    else:
        usage = {"input_tokens": input_words, "output_tokens": output_words,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    if isinstance(step.get("usage"), dict):
        _deep_merge(usage, step["usage"])
    model = body.get("model") if isinstance(body.get("model"), str) else "fake-model"
    return {"text": text, "calls": calls, "stop": stop, "usage": usage, "model": model,
            "id": ("chatcmpl-" if family == "openai" else "msg_") + uuid.uuid4().hex[:24],
            "created": int(time.time())}


def _pieces(text, at_least=2):
    """Split text into word-sized pieces (whitespace kept) that concatenate back to it."""
    if not text:
        return []
    pieces = re.findall(r"\s*\S+\s*", text) or [text]
    if len(pieces) == 1 and len(text) >= at_least:
        cut = max(1, len(text) // 2)
        pieces = [text[:cut], text[cut:]]
    return pieces


def _thirds(text):
    if len(text) < 3:
        return [text] if text else []
    a, b = len(text) // 3, 2 * len(text) // 3
    return [text[:a], text[a:b], text[b:]]


def _openai_message(plan):
    message = {"role": "assistant",
               "content": plan["text"] if (plan["text"] or not plan["calls"]) else None,
               "refusal": None}
    if plan["calls"]:
        message["tool_calls"] = [
            {"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"]}} for c in plan["calls"]]
    return {"id": plan["id"], "object": "chat.completion", "created": plan["created"],
            "model": plan["model"], "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": plan["stop"]}],
            "usage": plan["usage"]}


def _anthropic_message(plan):
    content = []
    if plan["text"]:
        content.append({"type": "text", "text": plan["text"]})
    for c in plan["calls"]:
        content.append({"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["input"]})
    return {"id": plan["id"], "type": "message", "role": "assistant", "model": plan["model"],
            "content": content, "stop_reason": plan["stop"], "stop_sequence": None,
            "usage": plan["usage"]}


def _sse(data, event=None):
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode("utf-8", "replace")


def _openai_events(plan, include_usage):
    """[(bytes, is_tail)] for an OpenAI stream."""
    base = {"id": plan["id"], "object": "chat.completion.chunk", "created": plan["created"],
            "model": plan["model"], "system_fingerprint": "fp_fake"}

    def chunk(delta, finish=None):
        data = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None,
                                    "finish_reason": finish}])
        if include_usage:
            data["usage"] = None
        return _sse(data)

    events = [(chunk({"role": "assistant"}), False)]
    for piece in _pieces(plan["text"]):
        events.append((chunk({"content": piece}), False))
    for index, c in enumerate(plan["calls"]):
        parts = _thirds(c["arguments"])
        first = parts.pop(0) if len(parts) > 2 else ""
        events.append((chunk({"tool_calls": [{"index": index, "id": c["id"], "type": "function",
                                              "function": {"name": c["name"], "arguments": first}}]}),
                       False))
        for piece in parts:
            events.append((chunk({"tool_calls": [{"index": index,
                                                  "function": {"arguments": piece}}]}), False))
    events.append((chunk({}, plan["stop"]), True))
    if include_usage:
        events.append((_sse(dict(base, choices=[], usage=plan["usage"])), True))
    events.append((b"data: [DONE]\n\n", True))
    return events


def _anthropic_events(plan):
    start_usage = dict(plan["usage"])
    start_usage["output_tokens"] = 1
    message = {"id": plan["id"], "type": "message", "role": "assistant", "model": plan["model"],
               "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    events = [(_sse({"type": "message_start", "message": message}, "message_start"), False)]
    ping = (_sse({"type": "ping"}, "ping"), False)
    index = 0
    if plan["text"]:
        events.append((_sse({"type": "content_block_start", "index": 0,
                             "content_block": {"type": "text", "text": ""}},
                            "content_block_start"), False))
        for n, piece in enumerate(_pieces(plan["text"])):
            events.append((_sse({"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": piece}},
                                "content_block_delta"), False))
            if n == 0:
                events.append(ping)
                ping = None
        events.append((_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
                       False))
        index = 1
    for c in plan["calls"]:
        events.append((_sse({"type": "content_block_start", "index": index,
                             "content_block": {"type": "tool_use", "id": c["id"],
                                               "name": c["name"], "input": {}}},
                            "content_block_start"), False))
        if ping:
            events.append(ping)
            ping = None
        for piece in _thirds(c["json"]):
            events.append((_sse({"type": "content_block_delta", "index": index,
                                 "delta": {"type": "input_json_delta", "partial_json": piece}},
                                "content_block_delta"), False))
        events.append((_sse({"type": "content_block_stop", "index": index}, "content_block_stop"),
                       False))
        index += 1
    if ping:
        events.insert(1, ping)
    events.append((_sse({"type": "future_event", "note": "clients must ignore unknown events"},
                        "future_event"), False))
    events.append((_sse({"type": "message_delta",
                         "delta": {"stop_reason": plan["stop"], "stop_sequence": None},
                         "usage": {"output_tokens": plan["usage"].get("output_tokens", 0)}},
                        "message_delta"), True))
    events.append((_sse({"type": "message_stop"}, "message_stop"), True))
    return events


# ---------------------------------------------------------------------------------------
# Error bodies

_ANTHROPIC_ERRORS = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}

_OPENAI_ERRORS = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later"),
}

_OPENAI_TYPE_MESSAGES = {
    "insufficient_quota": "You exceeded your current quota, please check your plan and billing details.",
}


def _error_body(family, status, error_type=None, message=None, code=None, has_code=False):
    if family == "anthropic":
        default_type, default_message = _ANTHROPIC_ERRORS.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", f"HTTP {status}"))
        return {"type": "error", "error": {"type": error_type or default_type,
                                           "message": message or default_message}}
    default_type, default_code, default_message = _OPENAI_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}"))
    if error_type and not has_code:
        code = error_type if error_type == "insufficient_quota" else default_code
    elif not has_code:
        code = default_code
    return {"error": {"message": message or _OPENAI_TYPE_MESSAGES.get(error_type, default_message),
                      "type": error_type or default_type, "param": None, "code": code}}


# ---------------------------------------------------------------------------------------
# HTTP


class _BadRequest(Exception):
    pass


class _Closed(Exception):
    """The connection was closed or reset on purpose; nothing more to send."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm-server/1"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if VERBOSE:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def send_error(self, code, message=None, explain=None):
        # Malformed request lines, unknown methods, oversized headers: JSON, never HTML.
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # garbage request lines still get a status line
        try:
            self._send_json(code, {"error": {"message": message or explain or f"HTTP {code}",
                                             "type": "invalid_request_error"}},
                            extra={"Connection": "close"})
        except OSError:
            pass

    def end_headers(self):
        self._headers_done = True
        super().end_headers()

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    # -- plumbing ------------------------------------------------------------------------

    def _handle(self, method):
        self._headers_done = False
        try:
            self._route(method)
        except _Closed:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True
        except Exception as error:  # never let a handler bug kill the connection silently
            self.close_connection = True
            if VERBOSE:
                import traceback
                traceback.print_exc()
            if not self._headers_done:
                try:
                    self._send_json(500, {"error": {"message": f"fake server bug: {error!r}",
                                                    "type": "server_error"}},
                                    extra={"Connection": "close"})
                except OSError:
                    pass

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip() or b"x", 16)
                except ValueError:
                    self.close_connection = True
                    raise _BadRequest("bad chunked request body")
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline(65537)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            count = int(length)
            if count < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise _BadRequest("bad Content-Length")
        return self.rfile.read(count)

    def _send_json(self, status, obj, extra=None, raw=None):
        data = raw if raw is not None else json.dumps(obj, ensure_ascii=False).encode("utf-8", "replace")
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        for key, value in (extra or {}).items():
            for existing in [k for k in headers if k.lower() == key.lower()]:
                del headers[existing]
            headers[key] = str(value)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _write_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _abort(self, mode="reset"):
        """Close the TCP connection now: RST (SO_LINGER 0) by default, FIN with mode close."""
        sock = self.connection
        try:
            if mode == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.rfile.close()  # drop the makefile reference so close() really closes the fd
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass
        raise _Closed()

    # -- routing -------------------------------------------------------------------------

    def _route(self, method):
        path = urlsplit(self.path).path
        try:
            raw = self._read_body()
        except _BadRequest as error:
            self._send_json(400, {"error": {"message": str(error), "type": "invalid_request_error"}},
                            extra={"Connection": "close"})
            return
        if path.startswith("/_control/"):
            return self._control(method, path, raw)
        family = None
        if path in ("/v1/chat/completions", "/chat/completions"):
            family = "openai"
        elif path in ("/v1/messages", "/messages"):
            family = "anthropic"
        if family is None:
            return self._send_json(404, {"error": {"message": f"no route for {method} {path}",
                                                   "type": "not_found_error"}})
        if method != "POST":
            return self._send_json(405, _error_body(family, 405, "invalid_request_error",
                                                    f"{method} not allowed on {path}"),
                                   extra={"Allow": "POST"})
        return self._provider(family, path, raw)

    def _control(self, method, path, raw):
        if path == "/_control/health":
            return self._send_json(200, {"ok": True})
        if path == "/_control/log" and method == "GET":
            with _lock:
                data = json.dumps(_log, ensure_ascii=False).encode("utf-8", "replace")
            return self._send_json(200, None, raw=data)
        if path == "/_control/reset" and method == "POST":
            with _lock:
                for family in FAMILIES:
                    _scripts[family].clear()
                _log.clear()
            return self._send_json(200, {"ok": True})
        if path == "/_control/script" and method == "GET":
            with _lock:
                data = json.dumps(_scripts).encode()
            return self._send_json(200, None, raw=data)
        if path == "/_control/script" and method == "POST":
            try:
                body = json.loads(raw or b"null")
            except ValueError as error:
                return self._send_json(400, {"error": f"invalid JSON: {error}"})
            problem = _check_script(body)
            if problem:
                return self._send_json(400, {"error": problem})
            with _lock:
                _scripts[body["family"]].extend(body["steps"])
                pending = len(_scripts[body["family"]])
            return self._send_json(200, {"ok": True, "family": body["family"], "pending": pending})
        return self._send_json(404, {"error": f"no control route for {method} {path}"})

    # -- providers -----------------------------------------------------------------------

    def _provider(self, family, path, raw):
        headers = {}
        for key, value in self.headers.items():
            key = key.lower()
            if key in ("authorization", "x-api-key"):
                value = "<present>"
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            body = json.loads(raw.decode("utf-8"))
            error = None if isinstance(body, dict) else "request body must be a JSON object"
        except ValueError as parse_error:
            body, error = None, f"invalid JSON body: {parse_error}"
        stream = bool(body.get("stream")) if isinstance(body, dict) else False
        entry = {"family": family, "path": path, "at": None, "stream": stream,
                 "headers": headers, "body": body}
        if body is None:
            entry["raw_body"] = raw.decode("utf-8", "replace")
        if error is None:
            error = _validate(family, body)
        step = None
        with _lock:  # one lock: log order == step consumption order == "at" order
            if error is None:
                step = _next_step_locked(family)
                entry["step"] = step.get("kind", "ok") if step else "default"
            else:
                entry["step"] = "rejected"
            entry["at"] = time.time()
            _log.append(entry)
        if error is not None:
            return self._send_json(400, _error_body(family, 400, "invalid_request_error", error),
                                   extra=self._request_id(family))
        kind = (step or {}).get("kind", "ok")
        if kind == "status":
            return self._status(family, step, entry)
        plan = _plan(family, body, step)
        if stream:
            return self._stream(family, body, plan, step or {})
        return self._plain(family, plan, step or {})

    def _request_id(self, family):
        if family == "openai":
            return {"x-request-id": "req_" + uuid.uuid4().hex[:24]}
        return {"request-id": "req_" + uuid.uuid4().hex[:24]}

    def _status(self, family, step, entry):
        time.sleep(float(step.get("delay", 0)))
        with _lock:
            entry["answered_at"] = time.time()
        status = int(step.get("status", 500))
        body = step.get("body")
        extra = self._request_id(family)
        extra.update({str(k): str(v) for k, v in (step.get("headers") or {}).items()})
        if body is None:
            body = _error_body(family, status, step.get("error_type"), step.get("message"),
                               step.get("code"), "code" in step)
        if isinstance(body, str):
            return self._send_json(status, None, extra=extra, raw=body.encode())
        return self._send_json(status, body, extra=extra)

    def _plain(self, family, plan, step):
        kind = step.get("kind", "ok")
        extra = self._request_id(family)
        if kind == "drop":
            time.sleep(float(step.get("delay", 0)))
            self._abort(step.get("mode", "reset"))
        if kind == "stall":
            time.sleep(float(step.get("seconds", 5)))
        if kind in ("stream_error", "anthropic_stream_error"):
            status = 529 if family == "anthropic" else 500
            return self._send_json(status, _error_body(family, status), extra=extra)
        message = _openai_message(plan) if family == "openai" else _anthropic_message(plan)
        data = json.dumps(message, ensure_ascii=False).encode("utf-8", "replace")
        if kind == "corrupt":
            return self._send_json(200, None, extra=extra, raw=data[: len(data) // 2])
        if kind == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            time.sleep(0.1)
            self._abort("close")
        return self._send_json(200, None, extra=extra, raw=data)

    def _stream(self, family, body, plan, step):
        kind = step.get("kind", "ok")
        if family == "openai":
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            events = _openai_events(plan, include_usage)
        else:
            events = _anthropic_events(plan)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for key, value in self._request_id(family).items():
            self.send_header(key, value)
        self.end_headers()
        split = bool(step.get("split"))

        def send(data):
            if split and len(data) > 1:
                cut = len(data) // 2
                self._write_chunk(data[:cut])
                self._write_chunk(data[cut:])
            else:
                self._write_chunk(data)

        def send_all(items):
            for data, _tail in items:
                send(data)

        def end():
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        default_after = 2 if family == "openai" else 3
        if kind == "drop":
            send_all(events[: int(step.get("after", default_after))])
            time.sleep(float(step.get("delay", 0.2)))
            self._abort(step.get("mode", "reset"))
        elif kind == "truncate":
            send_all([e for e in events if not e[1]])
            end()
        elif kind == "corrupt":
            at = int(step.get("at", max(1, len(events) // 2)))
            if family == "openai":
                bad = b'data: {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choices": [{"delta": {"content": "oops\n\n'
            else:
                bad = b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "oops\n\n'
            send_all(events[:at])
            send(bad)
            send_all(events[at:])
            end()
        elif kind == "stall":
            after = int(step.get("after", 1))
            send_all(events[:after])
            time.sleep(float(step.get("seconds", 5)))
            send_all(events[after:])
            end()
        elif kind in ("stream_error", "anthropic_stream_error"):
            send_all(events[: int(step.get("after", default_after))])
            if family == "anthropic":
                send(_sse({"type": "error", "error": {"type": "overloaded_error",
                                                      "message": "Overloaded"}}, "error"))
            else:
                send(_sse(_error_body("openai", 500)))
            end()
        else:
            send_all(events)
            end()


def _validate(family, body):
    if not isinstance(body.get("model"), str) or not body.get("model"):
        return ("you must provide a model parameter" if family == "openai"
                else "model: Field required")
    if not isinstance(body.get("messages"), list):
        return ("Missing required parameter: 'messages'." if family == "openai"
                else "messages: Field required")
    if family == "anthropic":
        if "max_tokens" not in body:
            return "max_tokens: Field required"
        if not isinstance(body["max_tokens"], int) or isinstance(body["max_tokens"], bool):
            return "max_tokens: Input should be a valid integer"
    return None


def _check_script(body):
    if not isinstance(body, dict):
        return "body must be an object {\"family\", \"steps\"}"
    if body.get("family") not in FAMILIES:
        return "family must be \"openai\" or \"anthropic\""
    steps = body.get("steps")
    if not isinstance(steps, list):
        return "steps must be a list"
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            return f"steps[{index}] must be an object"
        kind = step.get("kind", "ok")
        if kind not in STEP_KINDS:
            return f"steps[{index}]: unknown kind {kind!r} (known: {', '.join(STEP_KINDS)})"
        if kind == "status" and not isinstance(step.get("status"), int):
            return f"steps[{index}]: status steps need an integer \"status\""
        if "tool_calls" in step and not isinstance(step["tool_calls"], list):
            return f"steps[{index}]: tool_calls must be a list"
    return None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if VERBOSE:
            super().handle_error(request, client_address)


def main():
    global VERBOSE
    parser = argparse.ArgumentParser(description="Scriptable fake OpenAI/Anthropic server")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free)")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin closes (so the server dies with its parent)")
    args = parser.parse_args()
    VERBOSE = args.verbose
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server = Server(("127.0.0.1", args.port), Handler)
    sys.stdout.write(f"PORT {server.server_address[1]}\n")
    sys.stdout.flush()
    if args.exit_on_stdin_eof:
        def watch():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
