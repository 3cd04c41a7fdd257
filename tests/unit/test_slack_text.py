"""Text crossing between customers and Slack: customer text is inert in Slack, agent text is plain for customers."""

from __future__ import annotations

import pytest

from handoff.slack.text import escape, from_slack, quote


@pytest.mark.parametrize(
    "hostile",
    [
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<@U123ABC>",
        "<#C123|general>",
        "<https://evil.example|Your bank>",
    ],
)
def test_customer_text_cannot_mention_or_link(hostile: str) -> None:
    shown = escape(f"hi {hostile} there")
    assert "<" not in shown and ">" not in shown
    assert "&lt;" in shown and "&gt;" in shown


def test_bare_broadcast_words_and_formatting_are_neutralised_but_still_readable() -> None:
    shown = escape("@channel *free* _money_ ~now~ `rm -rf` & more")
    for raw in ("@channel", "*free*", "_money_", "~now~", "`rm -rf`"):
        assert raw not in shown
    assert shown.replace("\u2060", "") == "@channel *free* _money_ ~now~ `rm -rf` &amp; more"


def test_quote_marks_every_line_as_the_customers_and_long_text_is_cut() -> None:
    assert (
        quote("line one\n> fake quote\nline three") == "&gt; line one\n&gt; &gt; fake quote\n&gt; line three"
    )
    assert len(escape("x" * 10_000)) == 2900


def test_agent_messages_reach_customers_as_plain_text() -> None:
    slack = "Hi <@U123>! Track it at <https://track.example/1Z|the carrier's page> &amp; <https://a.example> &lt;3"
    assert (
        from_slack(slack)
        == "Hi ! Track it at the carrier's page (https://track.example/1Z) & https://a.example <3"
    )
    assert from_slack("<mailto:help@shop.example|help@shop.example>") == "help@shop.example"
