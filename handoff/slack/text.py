"""Text crossing between customers and Slack, made safe in both directions.

Customer text shown in Slack must not ping anyone (<!channel>, <!here>, <@U...>), must not carry a
link with a spoofed label (<https://evil|Your bank>) and must not restyle the message (*bold*,
`code`, > quotes). Slack's own escaping covers &, < and >; formatting characters and bare
@-words get a zero-width joiner so they show as typed but mean nothing to Slack.
"""

from __future__ import annotations

import re

ZWJ = "\u2060"  # word joiner: invisible, and breaks Slack's parsing of what follows it
_FORMATTING = re.compile(r"([*_~`])")
_BROADCAST = re.compile(r"@(?=(channel|here|everyone|[A-Za-z0-9._-]+))")
_SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_SLACK_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_SLACK_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]+)?>")
_SLACK_MENTION = re.compile(r"<[@#!][^>]*>")


def escape(text: str, limit: int = 2900) -> str:
    """Customer text → safe Slack mrkdwn, shown exactly as typed."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _FORMATTING.sub(lambda m: m.group(1) + ZWJ, escaped)
    return _BROADCAST.sub("@" + ZWJ, escaped)


def quote(text: str, limit: int = 2900) -> str:
    """Escaped customer text as a Slack block quote (each line prefixed, so it reads as theirs)."""
    return "\n".join("&gt; " + line if line else "&gt;" for line in escape(text, limit).split("\n"))


def from_slack(text: str) -> str:
    """An agent's Slack message → the plain text the customer sees.

    Slack sends links as <url|label>, mentions as <@U...>, and escapes &, <, >. Mentions and
    channel references mean nothing to a customer and are dropped.
    """
    plain = _SLACK_LINK.sub(
        lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) != m.group(1) else m.group(1), text
    )
    plain = _SLACK_BARE_LINK.sub(r"\1", plain)
    plain = _SLACK_MAILTO.sub(r"\1", plain)
    plain = _SLACK_MENTION.sub("", plain)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()
