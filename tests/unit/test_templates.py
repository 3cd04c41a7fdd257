"""Reply templates: the shipped folder, the loader's problem reports, filling and the pre-send check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handoff.templates import (
    PLACEHOLDERS,
    TRIGGERS,
    ReplyTemplate,
    TemplateError,
    TemplateProblem,
    check_reply,
    default_templates_folder,
    fill,
    load_templates,
    suggest,
)

NO_NEXT_STEP = "No next step: say what happens next and who does it."
NO_TIMING = "No timing: say when (e.g. 'within 2 business days', 'by Friday')."

SAMPLE = {
    "customer_name": "Ana",
    "order_number": "CC-10482",
    "agent_name": "Jonas",
    "store_name": "Copperline Coffee Co.",
    "contact_email": "help@copperline.example",
    "item": "Hario V60 dripper",
    "carrier": "DHL",
    "tracking_link": "https://copperline.example/track/CC-10482",
    "refund_amount": "€24.90",
    "days": "3",
}
SHIPPED = {
    "shipping_delay",
    "damaged_item",
    "missing_item",
    "wrong_item",
    "return_or_exchange",
    "refund_status",
    "chargeback",
}


def template(body: str) -> ReplyTemplate:
    return ReplyTemplate(id="t", title="T", triggers=(), description="", body=body, path="t.md")


# --- the shipped templates --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict[str, ReplyTemplate]:
    return load_templates(default_templates_folder())


def test_the_shipped_folder_loads(shipped: dict[str, ReplyTemplate]) -> None:
    assert set(shipped) == SHIPPED
    for found in shipped.values():
        assert Path(found.path).stem == found.id
        assert found.title and found.triggers
        assert set(found.triggers) <= TRIGGERS


def test_every_shipped_template_is_short_and_complete_when_filled(shipped: dict[str, ReplyTemplate]) -> None:
    for found in shipped.values():
        text = fill(found, SAMPLE)
        assert check_reply(text) == [], found.id
        assert "{" not in text and "}" not in text, found.id
        assert "[" not in text and "]" not in text, found.id
        assert 80 <= len(text.split()) <= 160, (found.id, len(text.split()))


def test_every_shipped_template_says_how_to_reach_us(shipped: dict[str, ReplyTemplate]) -> None:
    for found in shipped.values():
        assert "{contact_email}" in found.body, found.id


def test_a_missing_value_shows_a_marker_that_the_check_catches(shipped: dict[str, ReplyTemplate]) -> None:
    values: dict[str, str | None] = {**SAMPLE, "order_number": None}
    text = fill(shipped["damaged_item"], values)
    assert "[order number]" in text
    assert "{order_number}" not in text
    assert check_reply(text) == ["Still has a placeholder: [order number]"]


def test_an_absent_or_blank_value_is_a_marker_too() -> None:
    found = template("Hi {customer_name}, about {order_number}.")
    assert fill(found, {"customer_name": "  "}) == "Hi [customer name], about [order number]."


def test_values_are_inserted_literally() -> None:
    found = template("Hi {customer_name}, order {order_number}.")
    text = fill(found, {"customer_name": "{evil} {order_number} \\1 {0.__class__}", "order_number": "A-1"})
    assert text == "Hi {evil} {order_number} \\1 {0.__class__}, order A-1."


def test_suggest_puts_matching_templates_first_then_by_title(shipped: dict[str, ReplyTemplate]) -> None:
    suggested = suggest(shipped, "chargeback")
    assert suggested[0].id == "chargeback"
    assert len(suggested) == len(shipped)
    rest = [t.title.casefold() for t in suggested[1:]]
    assert rest == sorted(rest)

    refund = suggest(shipped, "refund_request")
    matching = [t for t in refund if "refund_request" in t.triggers]
    assert refund[: len(matching)] == sorted(matching, key=lambda t: t.title.casefold())


def test_suggest_understands_the_detector_reason_codes(shipped: dict[str, ReplyTemplate]) -> None:
    assert suggest(shipped, "chargeback_dispute")[0].id == "chargeback"
    assert suggest(shipped.values(), "chargeback")[0].id == "chargeback"


def test_suggest_for_an_unknown_reason_is_all_by_title(shipped: dict[str, ReplyTemplate]) -> None:
    titles = [t.title for t in suggest(shipped, "nothing_matches")]
    assert titles == sorted(titles, key=str.casefold)


# --- problems in a broken folder --------------------------------------------------------------------

GOOD = "---\nid: {id}\ntitle: A title\ntriggers: [refund_request]\n---\nHi {{customer_name}}, we'll reply today.\n"


def write(folder: Path, name: str, text: str | bytes) -> None:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def problems_in(folder: Path) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        load_templates(folder)
    return [str(p) for p in caught.value.problems]


def has(found: list[str], file: str, line: int, fragment: str) -> bool:
    pattern = re.compile(rf"(^|/){re.escape(file)}:{line}: .*{re.escape(fragment)}")
    return any(pattern.search(p) for p in found)


def test_each_problem_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "a_ok.md", GOOD.format(id="same"))
    write(tmp_path, "b_dup.md", "---\ntitle: Other\nid: same\n---\nWe'll reply today.\n")
    write(tmp_path, "c_no_front.md", "Hi {customer_name}\n")
    write(tmp_path, "d_unclosed.md", "---\nid: d\ntitle: D\nWe'll reply today.\n")
    write(tmp_path, "e_bad_yaml.md", "---\nid: e\ntitle: E\ntriggers: [refund_request\n---\nBody\n")
    write(tmp_path, "f_missing.md", "---\ndescription: no id or title\n---\nWe'll reply today.\n")
    write(tmp_path, "g_empty.md", "---\nid: g\ntitle: G\n---\n\n   \n")
    write(
        tmp_path,
        "h_placeholder.md",
        "---\nid: h\ntitle: H\n---\nHi {customer_name},\n\nYour order {order_numbr} is late.\nSee {item.\n",
    )
    write(
        tmp_path,
        "i_trigger.md",
        "---\nid: i\ntitle: I\ntriggers:\n  - refund_request\n  - refund\n---\nBody\n",
    )
    write(tmp_path, "j_field.md", "---\nid: j\ntitle: J\nsubject: Hello\n---\nBody\n")
    write(tmp_path, "k_latin1.md", "---\nid: k\ntitle: K\n---\nCaf\xe9 line\n".encode("latin-1"))
    write(tmp_path, "l_list.md", "---\n- id\n- title\n---\nBody\n")
    write(tmp_path, "notes.txt", "not a template")

    found = problems_in(tmp_path)

    assert has(found, "a_ok.md", 2, "duplicate id 'same' (also in")
    assert has(found, "b_dup.md", 3, "duplicate id 'same' (also in")
    assert any("b_dup.md:3" in p for p in found if "a_ok.md:2" in p)
    assert has(found, "c_no_front.md", 1, "no front matter")
    assert has(found, "d_unclosed.md", 1, "never ends")
    assert has(found, "e_bad_yaml.md", 4, "not valid YAML")
    assert has(found, "f_missing.md", 1, "missing id")
    assert has(found, "f_missing.md", 1, "missing title")
    assert has(found, "g_empty.md", 5, "empty body")
    assert has(found, "h_placeholder.md", 7, "unknown placeholder {order_numbr}")
    assert has(found, "h_placeholder.md", 8, "unmatched")
    assert has(found, "i_trigger.md", 6, "unknown trigger 'refund'")
    assert has(found, "j_field.md", 4, "unknown field 'subject'")
    assert has(found, "k_latin1.md", 5, "not UTF-8")
    assert has(found, "l_list.md", 2, "key: value")
    assert not any("notes.txt" in p for p in found)
    # Every file but the good one (whose id is duplicated) reported something, all in one go.
    assert {Path(p.split(":")[0]).name for p in found} == {f.name for f in tmp_path.glob("*.md")}


def test_a_good_folder_loads_with_crlf_and_a_bom(tmp_path: Path) -> None:
    write(tmp_path, "x.md", "\ufeff" + GOOD.format(id="x").replace("\n", "\r\n"))
    loaded = load_templates(tmp_path)
    assert loaded["x"].body == "Hi {customer_name}, we'll reply today."
    assert loaded["x"].triggers == ("refund_request",)


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not a folder"):
        load_templates(tmp_path / "nope")


def test_problem_and_error_text() -> None:
    problem = TemplateProblem("t/x.md", 3, "missing id")
    assert str(problem) == "t/x.md:3: missing id"
    error = TemplateError([problem, TemplateProblem("t/y.md", 1, "no front matter")])
    assert str(error).splitlines() == [
        "2 problems in reply templates:",
        "t/x.md:3: missing id",
        "t/y.md:1: no front matter",
    ]


# --- check_reply ------------------------------------------------------------------------------------


def test_check_reply_flags_an_empty_acknowledgement() -> None:
    assert check_reply("ok thanks") == [NO_NEXT_STEP, NO_TIMING]


def test_check_reply_flags_a_promise_without_timing() -> None:
    assert check_reply("We'll send a replacement.") == [NO_TIMING]


def test_check_reply_passes_a_complete_reply() -> None:
    assert check_reply("I've issued the refund; you'll see it within 5 business days.") == []


@pytest.mark.parametrize(
    "reply",
    [
        "I’ll ship a new grinder tomorrow.",
        "We will email you the tracking link by Friday.",
        "I am going to ask the warehouse and get back to you by end of day.",
        "Please send a photo of the box so we can check it by 3 March.",
        "Please reply with your address and it leaves on 03.03.",
        "I have arranged a pickup for 2026-03-03.",
        "The courier will collect it in 2 hours.",
        "Your parcel should arrive in a couple of days.",
        "I've asked DHL to investigate; expect an answer this week.",
        "We'll refund you within 24h.",
        "Next step: our roaster checks the batch on Monday.",
        "I'm arranging a replacement, it goes out within a day.",
    ],
)
def test_check_reply_accepts_typical_agent_replies(reply: str) -> None:
    assert check_reply(reply) == []


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Thanks, have a great day!", [NO_NEXT_STEP, NO_TIMING]),
        ("Please let me know if you have any questions.", [NO_NEXT_STEP, NO_TIMING]),
        ("Please note our warehouse is busy.", [NO_NEXT_STEP, NO_TIMING]),
        ("Your refund of €12.10. Sorry again.", [NO_NEXT_STEP, NO_TIMING]),
        ("I have a question about your order.", [NO_NEXT_STEP, NO_TIMING]),
        ("Sorry about that, it usually takes 3 days.", [NO_NEXT_STEP]),
        ("We will look into it soon.", [NO_TIMING]),
    ],
)
def test_check_reply_flags_what_is_missing(reply: str, expected: list[str]) -> None:
    assert check_reply(reply) == expected


def test_check_reply_lists_each_placeholder_once_and_ignores_other_brackets() -> None:
    reply = (
        "Hi [customer name], we'll resend order [order number] today. Order [order number] again. "
        "See [tracking link](https://x.example) and note [1]. {days} left."
    )
    assert check_reply(reply) == [
        "Still has a placeholder: [customer name]",
        "Still has a placeholder: [order number]",
        "Still has a placeholder: {days}",
    ]


def test_the_placeholder_list_is_the_agreed_one() -> None:
    assert {
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
    } == PLACEHOLDERS
