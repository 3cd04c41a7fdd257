"""The agreed boundaries between packages, checked on every import in the source."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = {"telegram", "slack_bolt", "slack_sdk", "sqlalchemy", "alembic", "starlette", "uvicorn", "httpx"}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


def test_knowledge_base_imports_nothing_of_ours() -> None:
    for path in (ROOT / "knowledge_base").rglob("*.py"):
        ours = {top(i) for i in imports_of(path)} & {"bot", "handoff", "bench"}
        assert not ours, f"{path.relative_to(ROOT)} imports {ours}"


def test_engine_sees_only_ports_and_domain() -> None:
    for name in ("engine.py", "domain.py", "ports.py", "replies.py", "small_talk.py", "text.py"):
        imported = imports_of(ROOT / "bot" / name)
        assert not {top(i) for i in imported} & (VENDOR | {"knowledge_base"}), name
        assert not any(i.startswith("bot.persistence") or i.startswith("bot.channels") for i in imported), (
            name
        )


def test_handoff_imports_only_domain_and_ports() -> None:
    folder = ROOT / "handoff"
    for path in folder.rglob("*.py") if folder.exists() else []:
        for name in imports_of(path):
            if top(name) == "bot":
                assert name in {"bot.domain", "bot.ports"}, f"{path.relative_to(ROOT)} imports {name}"


def test_only_app_wires_the_database_and_the_knowledge_base_together() -> None:
    for path in (ROOT / "bot").rglob("*.py"):
        imported = imports_of(path)
        wires_both = any(i.startswith("bot.persistence") for i in imported) and any(
            i.startswith("bot.knowledge") or i.startswith("knowledge_base") for i in imported
        )
        if wires_both:
            assert path.name in {"app.py", "cli.py"}, f"{path.relative_to(ROOT)} wires storage and search"
