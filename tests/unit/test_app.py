"""The HTTP surface of `make run`: the chat page, the chat endpoint, health."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot.app import create_app
from bot.settings import load_settings
from tests.helpers import fast_settings


@pytest.fixture
def client(kb_folder: Path, tmp_path: Path) -> Iterator[TestClient]:
    settings = fast_settings(kb_folder, tmp_path / "var", store_name="Bean & <Co>")
    with TestClient(create_app(settings)) as client:
        yield client


def test_health_reports_the_knowledge_base(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["knowledge_base"]["articles"] == 7


def test_chat_page_escapes_the_store_name(client: TestClient) -> None:
    page = client.get("/chat").text
    assert "Bean &amp; &lt;Co&gt;" in page and "<Co>" not in page
    assert "textContent" in page  # replies are inserted as text, never as markup


def test_a_conversation_over_http(client: TestClient) -> None:
    first = client.post("/api/chat", json={"text": "when will my parcel arrive"}).json()
    assert first["decision"] == "answer"
    assert first["replies"][0]["text"].startswith("Standard shipping")
    conversation = first["conversation"]
    assert len(conversation) >= 16
    second = client.post("/api/chat", json={"text": "xylophone zebra", "conversation": conversation}).json()
    assert second["conversation"] == conversation
    assert second["decision"] == "abstain"
    assert second["replies"][0]["choices"] == [{"label": "Talk to a person", "payload": "human"}]
    third = client.post(
        "/api/chat", json={"text": "", "button": "human", "conversation": conversation}
    ).json()
    assert "bringing in a person from our team" in third["replies"][0]["text"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"not json", 400, "body must be JSON"),
        (b"[1, 2]", 400, "body must be a JSON object"),
        (b'{"text": 5}', 400, "text and button must be strings"),
        (b'{"text": "hi", "conversation": "short"}', 400, "conversation must be"),
        (b'{"text": "' + b"a" * 300_000 + b'"}', 413, "request body over"),
    ],
)
def test_bad_requests_are_refused_clearly(client: TestClient, body: bytes, status: int, error: str) -> None:
    response = client.post("/api/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert error in response.json()["error"]


def test_an_empty_knowledge_base_folder_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    settings = load_settings(kb_path=tmp_path / "kb", data_dir=tmp_path / "var", embedder="hashing")
    with pytest.raises(Exception, match="no markdown articles"), TestClient(create_app(settings)):
        pass


def test_order_status_over_http_only_after_verification(client: TestClient) -> None:
    from datetime import date

    from bot.orders.sample import sample_orders
    from bot.persistence.orders import EmbeddedOrders

    store = EmbeddedOrders(client.app.state.services.repository)  # type: ignore[attr-defined]
    assert client.portal is not None
    client.portal.call(store.save_all, sample_orders(date.today()))
    first = client.post("/api/chat", json={"text": "where is my order #1001?"}).json()
    assert first["decision"] == "order"
    assert "email address or the postcode on order #1001" in first["replies"][0]["text"]
    assert "DHL" not in str(first) and "Lena" not in str(first)
    conversation = first["conversation"]
    second = client.post("/api/chat", json={"text": "10115", "conversation": conversation}).json()
    assert second["decision"] == "order" and "Order #1001 shipped" in second["replies"][0]["text"]
    assert "DHL" in second["replies"][0]["text"]
