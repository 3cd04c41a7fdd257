"""What content editors see when they make a mistake: file:line: what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from knowledge_base.errors import InvalidKnowledgeBase, KnowledgeBaseError
from knowledge_base.loader import check_folder, load_articles


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(folder: Path) -> list[str]:
    return [str(p) for p in check_folder(folder).problems]


def test_fixture_base_loads_articles_and_faq_sections(kb_folder: Path) -> None:
    articles = {a.id: a for a in load_articles(kb_folder)}
    assert set(articles) == {
        "returns-window",
        "refund-timing",
        "shipping-times",
        "change-address",
        "gift-cards",
        "do-you-have-a-physical-shop",
        "can-i-visit-the-roastery",
    }
    assert articles["returns-window"].questions[0] == "How many days do I have to return something?"
    assert articles["returns-window"].related == ("refund-timing",)
    shop = articles["do-you-have-a-physical-shop"]
    assert shop.title == "Do you have a physical shop?"
    assert shop.answer.startswith("No, we sell online only")
    assert shop.tags == ("store",)


def test_bad_yaml_points_at_the_line(kb_folder: Path) -> None:
    write(
        kb_folder, "broken.md", "---\nid: broken\ntitle: Broken\nquestions: [unclosed\ntags: []\n---\nBody.\n"
    )
    found = problems_of(kb_folder)
    assert len(found) == 1
    assert found[0].startswith(f"{kb_folder / 'broken.md'}:")
    assert "not valid YAML" in found[0]
    line = int(found[0].split(":")[1])
    assert 4 <= line <= 6


def test_missing_id_and_title(kb_folder: Path) -> None:
    write(kb_folder, "nameless.md", "---\nquestions:\n  - Where is it?\n---\nSomewhere.\n")
    found = problems_of(kb_folder)
    assert any(p.endswith("nameless.md:1: missing id") for p in found)
    assert any(p.endswith("nameless.md:1: missing title") for p in found)


def test_duplicate_id_names_both_files(kb_folder: Path) -> None:
    write(kb_folder, "zz-copy.md", "---\nid: gift-cards\ntitle: Gift cards again\n---\nYes.\n")
    found = problems_of(kb_folder)
    assert len(found) == 1
    assert "zz-copy.md:2: duplicate id 'gift-cards'" in found[0]
    assert "gift-cards.md:2" in found[0]


def test_empty_answer_points_below_front_matter(kb_folder: Path) -> None:
    write(kb_folder, "empty.md", "---\nid: empty-one\ntitle: Empty\n---\n\n   \n")
    assert any(
        p.endswith("empty.md:5: empty answer: write the answer below the front matter")
        for p in problems_of(kb_folder)
    )


def test_question_listed_under_two_articles(kb_folder: Path) -> None:
    write(
        kb_folder,
        "dupe-question.md",
        "---\nid: dupe-question\ntitle: Dupe\nquestions:\n  - when will I get my money back\n---\nSoon.\n",
    )
    found = problems_of(kb_folder)
    assert len(found) == 1
    assert (
        "question 'When will I get my money back?'" in found[0] or "when will I get my money back" in found[0]
    )
    assert "refund-timing" in found[0] and "dupe-question" in found[0]


def test_related_id_that_does_not_exist(kb_folder: Path) -> None:
    write(kb_folder, "rel.md", "---\nid: rel\ntitle: Rel\nrelated: [nowhere]\n---\nText.\n")
    assert problems_of(kb_folder) == [f"{kb_folder / 'rel.md'}:2: related id 'nowhere' does not exist"]


def test_unknown_field_is_named_with_its_line(kb_folder: Path) -> None:
    write(kb_folder, "typo.md", "---\nid: typo\ntitle: Typo\nquestion:\n  - one\n---\nText.\n")
    found = problems_of(kb_folder)
    assert len(found) == 1 and "typo.md:4: unknown field 'question'" in found[0]


def test_unterminated_front_matter_and_non_utf8(kb_folder: Path) -> None:
    write(kb_folder, "open.md", "---\nid: open\ntitle: Open\n")
    (kb_folder / "latin1.md").write_bytes("---\nid: caf\ntitle: Caf\xe9\n---\nx\n".encode("latin-1"))
    found = problems_of(kb_folder)
    assert any(
        p.endswith("open.md:1: front matter starts with '---' but never ends with '---'") for p in found
    )
    assert any(p.endswith("latin1.md:3: not UTF-8 text") for p in found)


def test_bad_id_and_non_list_questions(kb_folder: Path) -> None:
    write(kb_folder, "bad.md", "---\nid: Bad Id!\ntitle: Bad\nquestions: 12\n---\nText.\n")
    found = problems_of(kb_folder)
    assert any("bad.md:2: id 'Bad Id!' must be lowercase words joined by '-'" in p for p in found)


def test_faq_page_with_empty_section(kb_folder: Path) -> None:
    write(kb_folder, "faq2.md", "## Do you ship to Mars?\n\n## Do you ship to the Moon?\nNo.\n")
    found = problems_of(kb_folder)
    assert found == [f"{kb_folder / 'faq2.md'}:1: empty answer under '## Do you ship to Mars?'"]


def test_load_refuses_a_folder_with_problems(kb_folder: Path) -> None:
    write(kb_folder, "nameless.md", "---\ntitle: No id\n---\nText.\n")
    with pytest.raises(InvalidKnowledgeBase) as caught:
        load_articles(kb_folder)
    assert "missing id" in str(caught.value)


def test_empty_and_missing_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="no markdown articles"):
        check_folder(tmp_path)
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        check_folder(tmp_path / "nope")


def test_kb_check_command(kb_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check", str(kb_folder)]) == 0
    assert "ok: 7 articles in 6 file(s)" in capsys.readouterr().out
    write(kb_folder, "rel.md", "---\nid: rel\ntitle: Rel\nrelated: [nowhere]\n---\nText.\n")
    assert main(["kb", "check", str(kb_folder)]) == 1
    out = capsys.readouterr().out
    assert f"{kb_folder / 'rel.md'}:2: related id 'nowhere' does not exist" in out


def test_kb_check_on_empty_folder_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check", str(tmp_path)]) == 1
    assert "no markdown articles" in capsys.readouterr().err
