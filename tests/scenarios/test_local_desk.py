"""The embedded default: no Slack account, handoffs on the local desk at /desk, same service underneath."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from bot.app import create_app
from tests.helpers import fast_settings
from tests.scenarios.test_widget_socket import hello, receive_until

DESK = {"X-Requested-With": "desk"}


def test_a_widget_handoff_is_claimed_and_answered_on_the_local_desk(kb_folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "var"
    with TestClient(create_app(fast_settings(kb_folder, data, business_hours="24/7"))) as client:
        with client.websocket_connect("/widget/ws") as socket:
            hello(socket)
            socket.send_text(json.dumps({"type": "message", "text": "can I talk to a human please"}))
            told = receive_until(socket, "reply")
            # Nobody has the desk open yet: the customer is told so, and by when to expect a reply.
            assert "Nobody from our team is online right now, but a teammate will reply by" in told["text"]

            # Without Slack there is no /slack/events, and the desk needs its password.
            assert client.post("/slack/events", content=b"{}").status_code == 404
            assert client.get("/desk/api/tickets").status_code == 401
            password = (data / "desk-password").read_text().strip()
            wrong = client.post("/desk/login", data={"name": "Robin", "password": "guess"})
            assert wrong.status_code == 401
            assert client.post("/desk/login", data={"name": "Robin", "password": password}).status_code in (
                200,
                303,
            )

            tickets = client.get("/desk/api/tickets").json()["tickets"]
            assert len(tickets) == 1 and tickets[0]["state"] == "waiting"
            ticket_id = tickets[0]["id"]
            assert (
                client.post(f"/desk/api/tickets/{ticket_id}/claim", json={}, headers=DESK).status_code == 200
            )
            assert "Robin" in receive_until(socket, "reply")["text"]

            reply = "I've checked your order: it leaves our roastery today and arrives within 3 days."
            sent = client.post(
                f"/desk/api/tickets/{ticket_id}/reply", json={"text": reply}, headers=DESK
            ).json()
            assert sent["sent"] is True
            answer = receive_until(socket, "reply")
            assert answer["text"] == reply and answer["from"] == "agent" and answer["agent"] == "Robin"

            assert (
                client.post(f"/desk/api/tickets/{ticket_id}/resolve", json={}, headers=DESK).status_code
                == 200
            )
            assert "resolved" in receive_until(socket, "reply")["text"]
            assert [c["label"] for c in receive_until(socket, "reply")["choices"]] == [
                "1",
                "2",
                "3",
                "4",
                "5",
            ]
            # With an agent at the desk, the next customer is promised a reply within the target.
            socket.send_text(json.dumps({"type": "message", "text": "I need a human again please"}))
            again = receive_until(socket, "reply")
            assert "within about 2 hours" in again["text"], again
        detail = client.get(f"/desk/api/tickets/{ticket_id}").json()
        assert detail["state"] == "resolved"
        assert detail["trigger_text"] == "can I talk to a human please"
        assert all(author != "agent" for author, _ in _rows(detail))  # the thread has those, once


def _rows(detail: dict[str, object]) -> list[tuple[str, str]]:
    transcript = detail.get("transcript") or []
    assert isinstance(transcript, list)
    return [(str(row["author"]), str(row["text"])) for row in transcript]
