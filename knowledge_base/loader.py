"""Reads markdown articles and reports every mistake as file:line: what is wrong.

Two formats are accepted:
- an article file: YAML front matter (id, title, questions, tags, related, link), body = the answer;
- an FAQ page: optional front matter without an id (tags apply to every section), then
  `## Question?` sections, each becoming an article whose id is the heading's slug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.article import ID_PATTERN, Article, normalise_question, slugify
from knowledge_base.errors import InvalidKnowledgeBase, KnowledgeBaseError, Problem

ARTICLE_FIELDS = {"id", "title", "questions", "tags", "related", "link"}
FAQ_PAGE_FIELDS = {"tags", "related"}
MAX_FILE_BYTES = 1_000_000

# The C loader is several times faster; the warm start of a large base depends on it.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0


def load_articles(folder: Path) -> list[Article]:
    """Load every article below `folder`, or raise InvalidKnowledgeBase listing every problem."""
    result = check_folder(folder)
    if result.problems:
        raise InvalidKnowledgeBase(result.problems)
    return result.articles


def check_folder(folder: Path) -> LoadResult:
    """Parse and validate every markdown file; collect problems instead of stopping at the first."""
    if not folder.exists():
        raise KnowledgeBaseError(f"knowledge-base folder {folder} does not exist")
    if not folder.is_dir():
        raise KnowledgeBaseError(f"knowledge-base path {folder} is not a folder")
    result = LoadResult()
    for path in sorted(folder.rglob("*.md")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        result.files += 1
        articles, problems = parse_file(path)
        result.articles.extend(articles)
        result.problems.extend(problems)
    if result.files == 0:
        raise KnowledgeBaseError(f"no markdown articles (*.md) found in {folder}")
    result.problems.extend(_cross_check(result.articles))
    return result


def parse_file(path: Path) -> tuple[list[Article], list[Problem]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [Problem(path, 1, f"cannot read file: {exc.strerror}")]
    if len(raw) > MAX_FILE_BYTES:
        return [], [Problem(path, 1, f"file is larger than {MAX_FILE_BYTES} bytes")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [], [Problem(path, line, "not UTF-8 text")]
    return parse_text(path, text.replace("\r\n", "\n"))


def parse_text(path: Path, text: str) -> tuple[list[Article], list[Problem]]:
    meta: dict[str, Any] = {}
    lines: dict[str, int] = {}
    body, body_line = text, 1
    all_lines = text.split("\n")
    if all_lines and all_lines[0].rstrip() == "---":
        closing = next((i for i in range(1, len(all_lines)) if all_lines[i].rstrip() == "---"), None)
        if closing is None:
            return [], [Problem(path, 1, "front matter starts with '---' but never ends with '---'")]
        header = "\n".join(all_lines[1:closing])
        body = "\n".join(all_lines[closing + 1 :])
        body_line = closing + 2
        try:
            meta, lines = _parse_front_matter(header)
        except yaml.YAMLError as exc:
            # The context mark is where the broken construct opened (an unclosed '['),
            # which is the line an editor must fix; the problem mark is where parsing gave up.
            mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
            line = 2 + (mark.line if mark is not None else 0)
            reason = getattr(exc, "problem", None) or "invalid YAML"
            return [], [Problem(path, line, f"front matter is not valid YAML: {reason}")]
        except _NotAMapping:
            return [], [Problem(path, 2, "front matter must be 'key: value' lines")]
    if "id" in meta or "title" in meta or "questions" in meta:
        return _article_from_meta(path, meta, lines, body, body_line)
    if _has_sections(body):
        return _faq_page(path, meta, lines, body, body_line)
    if not meta and not text.startswith("---"):
        return [], [
            Problem(path, 1, "no front matter: start the file with '---', then id, title and questions")
        ]
    return _article_from_meta(path, meta, lines, body, body_line)


class _NotAMapping(Exception):
    pass


def _parse_front_matter(header: str) -> tuple[dict[str, Any], dict[str, int]]:
    """YAML with the line of every key (and of every list item, keyed 'key[i]')."""
    if not header.strip():
        return {}, {}
    node = yaml.compose(header, Loader=_Loader)
    if node is None:
        return {}, {}
    if not isinstance(node, yaml.MappingNode):
        raise _NotAMapping
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        lines[key] = key_node.start_mark.line + 2
        if isinstance(value_node, yaml.SequenceNode):
            for i, item in enumerate(value_node.value):
                lines[f"{key}[{i}]"] = item.start_mark.line + 2
    data = yaml.load(header, Loader=_Loader)
    return dict(data), lines


def _article_from_meta(
    path: Path, meta: dict[str, Any], lines: dict[str, int], body: str, body_line: int
) -> tuple[list[Article], list[Problem]]:
    problems: list[Problem] = []

    def at(key: str) -> int:
        return lines.get(key, 1)

    for key in meta:
        if key not in ARTICLE_FIELDS:
            allowed = ", ".join(sorted(ARTICLE_FIELDS))
            problems.append(Problem(path, at(key), f"unknown field '{key}' (allowed: {allowed})"))
    article_id = meta.get("id")
    if article_id is None or (isinstance(article_id, str) and not article_id.strip()):
        problems.append(Problem(path, at("id") if "id" in meta else 1, "missing id"))
    elif not isinstance(article_id, str) or not ID_PATTERN.match(article_id):
        problems.append(Problem(path, at("id"), f"id {article_id!r} must be lowercase words joined by '-'"))
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem(path, at("title") if "title" in meta else 1, "missing title"))
    questions = _string_list(path, meta, lines, "questions", problems)
    tags = _string_list(path, meta, lines, "tags", problems)
    related = _string_list(path, meta, lines, "related", problems)
    link = meta.get("link")
    if link is not None and (not isinstance(link, str) or not link.startswith(("https://", "http://", "/"))):
        problems.append(Problem(path, at("link"), "link must be an http(s) URL or a path starting with '/'"))
    answer = body.strip()
    if not answer:
        problems.append(Problem(path, body_line, "empty answer: write the answer below the front matter"))
    if problems:
        return [], problems
    article = Article(
        id=str(article_id),
        title=str(title).strip(),
        answer=answer,
        questions=tuple(questions),
        tags=tuple(tags),
        related=tuple(related),
        link=link,
        source=path,
        line=at("id"),
    )
    return [article], []


def _string_list(
    path: Path, meta: dict[str, Any], lines: dict[str, int], key: str, problems: list[Problem]
) -> list[str]:
    value = meta.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problems.append(Problem(path, lines.get(key, 1), f"{key} must be a list"))
        return []
    items = []
    for i, item in enumerate(value):
        if not isinstance(item, str | int | float) or not str(item).strip():
            line = lines.get(f"{key}[{i}]", lines.get(key, 1))
            problems.append(Problem(path, line, f"{key} item {i + 1} must be non-empty text"))
            continue
        items.append(str(item).strip())
    return items


def _has_sections(body: str) -> bool:
    return any(line.startswith("## ") for line in body.splitlines())


def _faq_page(
    path: Path, meta: dict[str, Any], lines: dict[str, int], body: str, body_line: int
) -> tuple[list[Article], list[Problem]]:
    problems: list[Problem] = []
    for key in meta:
        if key not in FAQ_PAGE_FIELDS:
            problems.append(
                Problem(
                    path,
                    lines.get(key, 1),
                    f"unknown field '{key}' on an FAQ page (allowed: related, tags)",
                )
            )
    tags = _string_list(path, meta, lines, "tags", problems)
    related = _string_list(path, meta, lines, "related", problems)
    articles: list[Article] = []
    sections: list[tuple[str, int, list[str]]] = []
    for offset, line in enumerate(body.splitlines()):
        if line.startswith("## "):
            sections.append((line[3:].strip(), body_line + offset, []))
        elif sections:
            sections[-1][2].append(line)
        elif line.strip() and not line.startswith("# "):
            problems.append(Problem(path, body_line + offset, "text before the first '## Question?' heading"))
    for heading, line_no, answer_lines in sections:
        answer = "\n".join(answer_lines).strip()
        if not heading:
            problems.append(Problem(path, line_no, "empty '##' heading: write the question"))
            continue
        if not answer:
            problems.append(Problem(path, line_no, f"empty answer under '## {heading}'"))
            continue
        articles.append(
            Article(
                id=slugify(heading),
                title=heading,
                answer=answer,
                questions=(heading,),
                tags=tuple(tags),
                related=tuple(related),
                source=path,
                line=line_no,
            )
        )
    return (articles if not problems else []), problems


def _cross_check(articles: list[Article]) -> list[Problem]:
    """Problems only visible across files: duplicate ids and questions, dangling related ids."""
    problems: list[Problem] = []
    by_id: dict[str, Article] = {}
    owner_of_question: dict[str, Article] = {}
    for article in articles:
        first = by_id.get(article.id)
        if first is not None:
            problems.append(
                Problem(
                    _src(article),
                    article.line,
                    f"duplicate id '{article.id}' (also {first.source}:{first.line})",
                )
            )
        else:
            by_id[article.id] = article
        for question in {normalise_question(q): q for q in article.questions}.items():
            key, text = question
            other = owner_of_question.get(key)
            if other is not None and other.id != article.id:
                problems.append(
                    Problem(
                        _src(article),
                        article.line,
                        f"question {text!r} is also listed under '{other.id}' ({other.source})",
                    )
                )
            else:
                owner_of_question[key] = article
    for article in articles:
        for related_id in article.related:
            if related_id not in by_id:
                problems.append(
                    Problem(_src(article), article.line, f"related id '{related_id}' does not exist")
                )
    return problems


def _src(article: Article) -> Path:
    return article.source if article.source is not None else Path("<memory>")
