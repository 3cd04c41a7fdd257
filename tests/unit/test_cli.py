"""The commands an editor or store owner runs, on the fast hashing embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kb_folder: Path) -> None:
    monkeypatch.setenv("SUPPORTBOT_EMBEDDER", "hashing")
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SUPPORTBOT_KB_PATH", str(kb_folder))


def test_kb_search_shows_ranked_hits_and_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "search", "how long until the refund shows on my card", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["hits"][0]["id"] == "refund-timing"
    assert result["decision"] in {"answer", "clarify"}
    assert set(result["hits"][0]) == {"id", "title", "score", "dense", "lexical", "learned"}
    assert main(["kb", "search", "refund card"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("decision: ")
    assert "1. refund-timing" in out


def test_eval_retrieval_prints_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    faq = tmp_path / "faq.jsonl"
    faq.write_text(
        "\n".join(
            json.dumps(row)
            for row in [
                {
                    "id": "returns",
                    "title": "Return policy",
                    "answer": "30 days.",
                    "questions": ["can I return it"],
                },
                {
                    "id": "shipping",
                    "title": "Shipping time",
                    "answer": "3 days.",
                    "questions": ["when does it arrive"],
                },
                {
                    "id": "gift-cards",
                    "title": "Gift cards",
                    "answer": "Yes.",
                    "questions": ["do you sell gift cards"],
                },
            ]
        )
    )
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        "\n".join(
            json.dumps(q)
            for q in [
                {"text": "can I return it please", "expected": "returns"},
                {"text": "when does my parcel arrive", "expected": "shipping"},
                {"text": "hello", "expected": None},
            ]
        )
    )
    assert main(["eval", "retrieval", "--faq", str(faq), "--queries", str(queries), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in (
        "queries",
        "top1",
        "top3",
        "in_scope_accuracy",
        "resolved_rate",
        "clarify_rate",
        "abstain_recall",
        "abstain_precision",
        "p50_ms",
    ):
        assert key in result
    assert result["queries"] == 3
    assert result["top1"] == 1.0
    assert result["abstain_recall"] == 1.0  # "hello" is small talk: no article offered


def test_eval_retrieval_names_the_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    faq = tmp_path / "faq.jsonl"
    faq.write_text('{"id": "a", "questions": ["q"]}\nnot json\n')
    assert main(["eval", "retrieval", "--faq", str(faq), "--queries", str(faq)]) == 2
    assert f"{faq}:2: not JSON" in capsys.readouterr().err


def test_chat_in_the_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    lines = iter(["hello", "Can I buy a gift voucher?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat", "--debug"]) == 0
    out = capsys.readouterr().out
    assert "bot> Hi! I'm the" in out
    assert "bot> Digital gift cards from $10 to $200" in out
    assert "gift-cards" in out  # --debug shows the candidates
