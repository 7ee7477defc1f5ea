"""A stub transport for UpstreamClient tests: canned replies in, recorded requests out.

Mount a StubAdapter on a `requests.Session` and pass that session to `UpstreamClient(..., session=...)`.
Nothing leaves the process; urllib3 (and its retries) is never reached.
"""
from __future__ import annotations

import json as jsonlib
import re
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "upstream"


def load_fixture(name: str) -> Any:
    return jsonlib.loads((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Reply:
    """One canned answer: a status with a JSON body, raw bytes, or nothing."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        if self.body is not None:
            return self.body
        if self.json is None:
            return b""
        return jsonlib.dumps(self.json).encode()


@dataclass(frozen=True)
class Recorded:
    method: str
    url: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    timeout: Any
    verify: Any

    @property
    def form(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def json(self) -> Any:
        return jsonlib.loads(self.body) if self.body else None


class _Route:
    def __init__(self, method: str, pattern: str, replies: list[Reply | BaseException], repeat: bool) -> None:
        self.method = method.upper()
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self.replies = deque(replies)
        self.repeat = repeat

    def matches(self, method: str, path: str) -> bool:
        return self.method == method and bool(self.replies) and bool(self.pattern.fullmatch(path))

    def take(self) -> Reply | BaseException:
        if self.repeat and len(self.replies) == 1:
            return self.replies[0]
        return self.replies.popleft()


class StubAdapter(BaseAdapter):
    """Replays replies per (method, path regex) in FIFO order and records every request it is sent.

    `path` regexes are matched in full against the URL path (e.g. `/v8/RestoreSessions/[^/]+`). A request
    nothing matches fails the test with AssertionError; an exception queued as a reply is raised.
    """

    def __init__(self) -> None:
        super().__init__()
        self.routes: list[_Route] = []
        self.requests: list[Recorded] = []

    def on(self, method: str, path: str, *replies: Reply | BaseException, repeat: bool = False) -> StubAdapter:
        self.routes.append(_Route(method, path, list(replies), repeat))
        return self

    def token(self, version: int = 8, *, expires_in: int = 3600, access: str = "at-1",
              refresh: str = "rt-1") -> StubAdapter:
        payload = {**load_fixture("token_response.json"), "access_token": access, "refresh_token": refresh,
                   "expires_in": expires_in}
        return self.on("POST", f"/v{version}/Token", Reply(200, payload))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return [r for r in self.requests
                if (method is None or r.method == method) and (path is None or re.fullmatch(path, r.path, re.I))]

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        parts = urlsplit(request.url or "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        method = (request.method or "").upper()
        self.requests.append(Recorded(method=method, url=request.url or "", path=parts.path,
                                      query=parse_qs(parts.query, keep_blank_values=True),
                                      headers=dict(request.headers), body=body, timeout=timeout, verify=verify))
        for route in self.routes:
            if route.matches(method, parts.path):
                reply = route.take()
                break
        else:
            raise AssertionError(f"unexpected request {method} {parts.path}")
        if isinstance(reply, BaseException):
            raise reply
        response = requests.Response()
        response.status_code = reply.status
        response._content = reply.content()
        json_type = {"Content-Type": "application/json; charset=utf-8"} if response._content else {}
        response.headers = CaseInsensitiveDict({**json_type, **reply.headers})
        response.url = request.url or ""
        response.request = request
        response.reason = _reason_phrase(reply.status)
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def _reason_phrase(status: int) -> str:
    """The standard reason phrase of `status` ("Conflict"), empty for a status HTTP does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
