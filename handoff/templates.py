"""The store's standard after-sales replies: markdown files with front matter, filled in by agents.

Each template file looks like:

    ---
    id: shipping_delay
    title: Your parcel is running late
    triggers: [quality_issue, human_request]
    description: optional note for agents
    ---
    Hi {customer_name}, ...

Loading reports every problem in the folder at once, as file:line: message, so a store owner can
fix them in one pass. `check_reply` is the last look at an agent's reply before it goes out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "PLACEHOLDERS",
    "REASON_ALIASES",
    "TRIGGERS",
    "ReplyTemplate",
    "TemplateError",
    "TemplateProblem",
    "check_reply",
    "default_templates_folder",
    "fill",
    "load_templates",
    "suggest",
]

PLACEHOLDERS = frozenset(
    {
        "customer_name",
        "order_number",
        "agent_name",
        "store_name",
        "contact_email",
        "item",
        "carrier",
        "tracking_link",
        "refund_amount",
        "days",
    }
)
TRIGGERS = frozenset(
    {
        "refund_request",
        "chargeback",
        "quality_issue",
        "human_request",
        "anger",
        "public_complaint",
        "high_value_order",
        "vip_customer",
        "bulk_order",
    }
)
# The escalation detector names three reasons differently from the template vocabulary; suggest()
# accepts either spelling so a ticket's reason finds its templates.
REASON_ALIASES = {
    "chargeback_dispute": "chargeback",
    "angry_customer": "anger",
    "threat_public_review": "public_complaint",
}
FIELDS = frozenset({"id", "title", "triggers", "description"})

_ID = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
_BRACED = re.compile(r"\{([^{}\n]*)\}")
_KNOWN = re.compile(r"\{(" + "|".join(sorted(PLACEHOLDERS)) + r")\}")
# Safe loader only: templates are edited by hand and must never construct Python objects.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class TemplateProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class TemplateError(Exception):
    """The template folder cannot be used; `problems` lists every mistake found."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{len(problems)} {noun} in reply templates:\n" + "\n".join(map(str, problems)))


@dataclass(frozen=True)
class ReplyTemplate:
    id: str
    title: str
    triggers: tuple[str, ...]
    description: str
    body: str
    path: str


def default_templates_folder() -> Path:
    """The sample store's templates shipped with the package."""
    return Path(__file__).resolve().parent / "templates"


def load_templates(folder: Path) -> dict[str, ReplyTemplate]:
    """Every `*.md` template in `folder` by id, or TemplateError listing every problem."""
    if not folder.is_dir():
        raise TemplateError([TemplateProblem(str(folder), 1, "not a folder of reply templates")])
    templates: list[tuple[ReplyTemplate, int]] = []
    problems: list[TemplateProblem] = []
    for path in sorted(folder.glob("*.md")):
        found, file_problems = _parse_file(path)
        problems.extend(file_problems)
        if found is not None:
            templates.append(found)
    by_id: dict[str, tuple[ReplyTemplate, int]] = {}
    for template, id_line in templates:
        first = by_id.setdefault(template.id, (template, id_line))
        if first[0] is not template:
            # Name both files: either one may be the copy that should be renamed.
            other, other_line = first
            problems.append(
                TemplateProblem(
                    other.path,
                    other_line,
                    f"duplicate id {template.id!r} (also in {template.path}:{id_line})",
                )
            )
            problems.append(
                TemplateProblem(
                    template.path,
                    id_line,
                    f"duplicate id {template.id!r} (also in {other.path}:{other_line})",
                )
            )
    if problems:
        raise TemplateError(problems)
    return {template_id: template for template_id, (template, _) in by_id.items()}


def fill(template: ReplyTemplate, values: Mapping[str, str | None]) -> str:
    """The body with placeholders replaced; a missing or blank value becomes '[order number]'."""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        given = values.get(name)
        # Returned from a function, the value is inserted verbatim: no str.format, no backslash
        # escapes, so a customer name like "{evil}" or "\1" stays exactly as typed.
        return given if given is not None and given.strip() else _marker(name)

    return _KNOWN.sub(value, template.body)


def suggest(
    templates: Mapping[str, ReplyTemplate] | Iterable[ReplyTemplate], reason: str
) -> list[ReplyTemplate]:
    """All templates, those made for `reason` first; each group in title order."""
    items = templates.values() if isinstance(templates, Mapping) else templates
    code = REASON_ALIASES.get(reason, reason)
    return sorted(items, key=lambda t: (code not in t.triggers, t.title.casefold(), t.id))


# --- The pre-send check -------------------------------------------------------------------------
# Each check is one precompiled, case-insensitive regex without nested quantifiers, so the time
# grows with the reply's length and no wording can make it backtrack catastrophically. The patterns lean towards
# accepting: a missed warning costs less than nagging an agent about a reply that is fine.

# "a"/"an"/"one" count only after "within"/"in"/"about" so that "have a great day" is not a timing.
_NUMBER = r"(?:\d+(?:[.,]\d+)?(?:\s*(?:-|–|to|or)\s*\d+)?|two|three|four|five|six|seven|eight|nine|ten|twelve|a\s+few|a\s+couple\s+(?:of\s+)?|several)"
_ONE = r"(?:an?|one|another)"
_UNIT = r"(?:business\s+|working\s+|more\s+)?(?:minutes?|mins?|hours?|hrs?|days?|weeks?)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"

_ACTION_PARTICIPLES = (
    r"(?:sent|sent\s+out|issued|refunded|arranged|asked|booked|requested|replaced|reshipped|shipped|"
    r"dispatched|passed|forwarded|escalated|contacted|emailed|called|opened|filed|raised|logged|"
    r"reported|processed|started|cancelled|canceled|credited|applied|added|created|updated|"
    r"reached\s+out|set\s+up|put|flagged|approved|checked|confirmed|spoken|talked|chased|ordered|"
    r"prepared|packed|attached|included|scheduled|made|given|told|informed|notified|submitted)"
)
_NEXT_STEP = re.compile(
    "|".join(
        [
            # A commitment about the future: "we'll send", "I will check", "I'm going to ask".
            r"\b(?:we|i|they|someone|a\s+teammate|our\s+team)\s*(?:'ll|\s+will|\s+shall)\b",
            r"\b(?:i|we)\s*(?:'m|'re|\s+am|\s+are)\s+going\s+to\b",
            # Something already done for the customer: "I've issued", "we have arranged".
            r"\b(?:i|we)\s*(?:'ve|\s+have)\s+(?:just\s+|now\s+|already\s+|also\s+)?"
            + _ACTION_PARTICIPLES
            + r"\b",
            r"\b(?:has|have)\s+(?:now\s+|already\s+|just\s+)?been\s+" + _ACTION_PARTICIPLES + r"\b",
            # In progress: "I'm arranging", "we are looking into it".
            r"\b(?:i|we)\s*(?:'m|'re|\s+am|\s+are)\s+(?:now\s+|already\s+)?\w+ing\b",
            # What the customer will see, or a third party will do: "you'll receive", "the courier will".
            r"\byou\s*(?:'ll|\s+will|\s+should)\s+(?:\w+\s+)?(?:receive|get|see|hear|find|be\s+(?:refunded|contacted|notified))\b",
            r"\b(?:the|your)\s+(?:courier|carrier|driver|refund|replacement|parcel|package|order|money|credit|bank)\s+(?:will|should)\b",
            r"\b(?:should|will)\s+(?:arrive|reach\s+you|be\s+(?:delivered|with\s+you|credited|refunded|shipped|sent))\b",
            r"\bnext\s+(?:step|steps|thing)\b|\bwhat\s+happens\s+next\b|\bnext,",
            # A request to the customer ("Please send a photo"), but not a courtesy ("Please note").
            r"\bplease\s+(?!note\b|be\b|accept\b|forgive\b|excuse\b|bear\b|don't\b|do\s+not\b|feel\b|know\b"
            r"|rest\b|let\s+(?:me|us)\s+know\s+if\b)[a-z]+",
            r"\b(?:just\s+)?(?:reply|send|attach|forward)\s+(?:to\s+)?(?:this|us|me|a|the|your)\b",
        ]
    ),
    re.IGNORECASE,
)
_TIMING = re.compile(
    "|".join(
        [
            rf"\b(?:within|in|about|around|for|another)\s+(?:the\s+next\s+|about\s+|around\s+)?{_ONE}\s+{_UNIT}\b",
            r"\bwithin\s+(?:the\s+)?(?:hour|day|week|next\s+(?:hour|day|business\s+day|working\s+day|week))\b",
            rf"\b{_NUMBER}\s*{_UNIT}\b",
            r"\b\d+(?:h|d)\b",  # "24h", "2d"
            r"\b(?:today|tomorrow|tonight)\b",
            r"\bthis\s+(?:morning|afternoon|evening|week)\b",
            r"\bnext\s+(?:week|month|business\s+day|working\s+day)\b",
            r"\b(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+|next\s+)?(?:day|week|month)\b|\bby\s+eod\b",
            rf"\bby\s+(?:noon|midday|\d{{1,2}}(?::\d{{2}})?\s*(?:am|pm)|\d{{1,2}}:\d{{2}}|{_WEEKDAY})\b",
            rf"\b{_WEEKDAY}\b",
            r"\b(?:right\s+away|straight\s+away|immediately)\b",
            # Dates: "3 March", "March 3rd", "03.03.", "03.03.2026", "2026-03-03", "3/3".
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b",
            rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b",
            # The lookbehind keeps amounts such as "€12.10." from reading as 12 October.
            r"(?<![€$£\d.,])\b(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:\d{2,4}\b)?",
            r"\b\d{4}-\d{2}-\d{2}\b",
            r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
        ]
    ),
    re.IGNORECASE,
)
# Only the markers fill() writes, so "[1]" or a markdown link "[tracking link](https://...)" pass.
_LEFT_OVER = re.compile(
    r"\[(?:" + "|".join(sorted(name.replace("_", " ") for name in PLACEHOLDERS)) + r")\](?!\()"
    r"|\{(?:" + "|".join(sorted(PLACEHOLDERS)) + r")\}",
    re.IGNORECASE,
)

NO_NEXT_STEP = "No next step: say what happens next and who does it."
NO_TIMING = "No timing: say when (e.g. 'within 2 business days', 'by Friday')."


def check_reply(text: str) -> list[str]:
    """Warnings about an agent's reply before it reaches the customer; empty when it is fine."""
    # Curly apostrophes come from phones and word processors; the patterns are written with "'".
    plain = text.replace("\u2019", "'").replace("\u2018", "'")
    warnings: list[str] = []
    if not _NEXT_STEP.search(plain):
        warnings.append(NO_NEXT_STEP)
    if not _TIMING.search(plain):
        warnings.append(NO_TIMING)
    seen: set[str] = set()
    for match in _LEFT_OVER.finditer(plain):
        if match[0].lower() not in seen:
            seen.add(match[0].lower())
            warnings.append(f"Still has a placeholder: {match[0]}")
    return warnings


# --- Parsing one file ---------------------------------------------------------------------------


class _NotAMapping(Exception):
    pass


def _parse_file(path: Path) -> tuple[tuple[ReplyTemplate, int] | None, list[TemplateProblem]]:
    """The template and the line of its id, or None with the problems that stop it loading."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [TemplateProblem(name, 1, f"cannot read file: {exc.strerror}")]
    try:
        text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [TemplateProblem(name, line, "not UTF-8 text: save the file as UTF-8")]
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None, [
            TemplateProblem(name, 1, "no front matter: start the file with '---', then id and title")
        ]
    closing = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if closing is None:
        return None, [TemplateProblem(name, 1, "front matter starts with '---' but never ends with '---'")]
    try:
        meta, key_lines = _front_matter("\n".join(lines[1:closing]))
    except yaml.YAMLError as exc:
        # The context mark is where a broken construct opened (an unclosed '['): the line to fix.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = 2 + (mark.line if mark is not None else 0)
        reason = getattr(exc, "problem", None) or "invalid YAML"
        return None, [TemplateProblem(name, line, f"front matter is not valid YAML: {reason}")]
    except _NotAMapping:
        return None, [TemplateProblem(name, 2, "front matter must be 'key: value' lines")]

    problems: list[TemplateProblem] = []

    def problem(key: str, message: str) -> None:
        problems.append(TemplateProblem(name, key_lines.get(key, 1), message))

    for key in meta:
        if key not in FIELDS:
            problem(key, f"unknown field {key!r} (allowed: {', '.join(sorted(FIELDS))})")
    template_id = meta.get("id")
    if not isinstance(template_id, str) or not template_id.strip():
        problem("id", "missing id")
    elif not _ID.match(template_id):
        problem("id", f"id {template_id!r} must be lowercase words joined by '_' or '-'")
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        problem("title", "missing title")
    description = meta.get("description")
    if description is not None and not isinstance(description, str):
        problem("description", "description must be text")
    triggers = _triggers(meta.get("triggers"), key_lines, problem)

    body_start = closing + 2  # 1-based line of the first body line
    body = "\n".join(lines[closing + 1 :]).strip()
    if not body:
        problems.append(
            TemplateProblem(name, body_start, "empty body: write the reply below the front matter")
        )
    for offset, line_text in enumerate(lines[closing + 1 :]):
        problems.extend(_placeholder_problems(name, body_start + offset, line_text))
    if problems:
        return None, problems
    template = ReplyTemplate(
        id=str(template_id),
        title=str(title).strip(),
        triggers=triggers,
        description=(description or "").strip(),
        body=body,
        path=name,
    )
    return (template, key_lines.get("id", 1)), []


def _front_matter(header: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The YAML mapping and the file line of every key (and list item, keyed 'key[i]')."""
    node = yaml.compose(header, Loader=_Loader) if header.strip() else None
    if node is None:
        return {}, {}
    if not isinstance(node, yaml.MappingNode):
        raise _NotAMapping
    key_lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        key_lines[key] = key_node.start_mark.line + 2  # +1 for 1-based, +1 for the opening '---'
        if isinstance(value_node, yaml.SequenceNode):
            for i, item in enumerate(value_node.value):
                key_lines[f"{key}[{i}]"] = item.start_mark.line + 2
    data = yaml.load(header, Loader=_Loader)
    return {str(k): v for k, v in data.items()}, key_lines


def _triggers(
    value: object, key_lines: dict[str, int], problem: Callable[[str, str], None]
) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        problem("triggers", "triggers must be a list of reason codes")
        return ()
    found: list[str] = []
    for i, item in enumerate(items):
        key = f"triggers[{i}]" if f"triggers[{i}]" in key_lines else "triggers"
        if not isinstance(item, str) or item not in TRIGGERS:
            problem(key, f"unknown trigger {item!r} (known: {', '.join(sorted(TRIGGERS))})")
        else:
            found.append(item)
    return tuple(found)


def _placeholder_problems(path: str, line: int, text: str) -> list[TemplateProblem]:
    problems = [
        TemplateProblem(
            path, line, f"unknown placeholder {{{match[1]}}} (known: {', '.join(sorted(PLACEHOLDERS))})"
        )
        for match in _BRACED.finditer(text)
        if match[1] not in PLACEHOLDERS
    ]
    # A lone brace ("{order_number" or "}") would reach the customer as-is.
    rest = _BRACED.sub("", text)
    if "{" in rest or "}" in rest:
        problems.append(
            TemplateProblem(path, line, "unmatched '{' or '}': placeholders look like {order_number}")
        )
    return problems


def _marker(name: str) -> str:
    return f"[{name.replace('_', ' ')}]"
