"""A test double of a forge's HTTP API for the drivers' unit tests: an httpx
MockTransport that answers each (method, path) with a documented JSON answer and keeps
every request it was sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Answer = tuple[int, Any] | Callable[[httpx.Request], tuple[int, Any]]


@dataclass
class Replay:
    routes: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        """Answer `method path` with `answers` in turn (the last one repeats)."""
        self.routes[(method, path)] = list(answers)

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            answers = self.routes.get((request.method, request.url.raw_path.decode().split("?")[0]))
            if not answers:
                return httpx.Response(404, json={"message": "not found"})
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            status, body = answer(request) if callable(answer) else answer
            return httpx.Response(status, json=body)

        return httpx.MockTransport(handle)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.method == method and r.url.raw_path.decode().split("?")[0] == path
        ]


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)
