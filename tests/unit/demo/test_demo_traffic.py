"""The demo's label posts: sent to the operator's feedback endpoint until they join, as a client
with late ground truth would (a real HTTP server on loopback stands in for the operator)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kubedrift_dev.demo.traffic import Connections, post_labels


class FeedbackServer:
    """Answers each POST with the next ``(status, document)`` of ``answers``; records the posts."""

    def __init__(self, answers: list[tuple[int, Any]]) -> None:
        self.answers = answers
        self.posts: list[tuple[str, str | None, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.posts.append((self.path, self.headers.get("Authorization"), body))
                status, document = owner.answers.pop(0)
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/feedback/ns/demo-model"

    def __enter__(self) -> FeedbackServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def connections() -> Iterator[Connections]:
    kept = Connections()
    yield kept
    kept.close()


def test_labels_are_posted_again_while_unknown_or_no_sidecar_is_ready(
    connections: Connections,
) -> None:
    answers = [(503, {"error": "no ready sidecar"}), (200, {"joined": 0, "unknown": 1}),
               (200, {"joined": 1, "unknown": 0})]  # fmt: skip
    with FeedbackServer(answers) as operator:
        joined = post_labels(connections, operator.url, "secret", "step1-0", [1, 0, 1])

    assert joined == 3
    assert (
        operator.posts
        == [("/v1/feedback/ns/demo-model", "Bearer secret", {"id": "step1-0", "label": [1, 0, 1]})]
        * 3
    )


@pytest.mark.parametrize("outcome", ["expired", "duplicate", "invalid"])
def test_a_label_the_operator_will_never_join_is_not_posted_again(
    connections: Connections, outcome: str
) -> None:
    with FeedbackServer([(200, {"joined": 0, outcome: 1})]) as operator:
        assert post_labels(connections, operator.url, "secret", "step1-0", [1]) == 0
    assert len(operator.posts) == 1


def test_a_refused_post_is_an_error_naming_the_status(connections: Connections) -> None:
    refusal = [(401, {"error": "missing or wrong bearer token"})]
    with FeedbackServer(refusal) as operator, pytest.raises(RuntimeError, match="401"):
        post_labels(connections, operator.url, "wrong", "step1-0", [1])
