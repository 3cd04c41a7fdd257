"""Bad configuration fails at start with a message naming the setting and what is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import SettingsError
from bot.settings import DEFAULT_KB_PATH, Settings, load_settings, settings_table

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_need_no_configuration() -> None:
    settings = load_settings()
    assert settings.port == 8000 and settings.host == "127.0.0.1"
    assert settings.kb_path == DEFAULT_KB_PATH
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("var/supportbot.db")


def test_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_PORT", "9001")
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", "postgresql+asyncpg://u@db/prod")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.effective_database_url == "postgresql+asyncpg://u@db/prod"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SUPPORTBOT_PORT", "eighty", "SUPPORTBOT_PORT: Input should be a valid integer"),
        ("SUPPORTBOT_PORT", "70000", "SUPPORTBOT_PORT: Input should be less than or equal to 65535"),
        ("SUPPORTBOT_DATABASE_URL", "mysql://x", "SUPPORTBOT_DATABASE_URL: Value error, must start with"),
        ("SUPPORTBOT_EMBEDDER", "gpt", "SUPPORTBOT_EMBEDDER: Input should be 'minilm' or 'hashing'"),
        (
            "SUPPORTBOT_ABSTAIN_TARGET",
            "2",
            "SUPPORTBOT_ABSTAIN_TARGET: Input should be less than or equal to 0.99",
        ),
        ("SUPPORTBOT_LOG_LEVEL", "loud", "SUPPORTBOT_LOG_LEVEL: Input should be"),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert message in str(caught.value)
    assert repr(value).lower() in str(caught.value).lower()


def test_the_command_exits_2_with_the_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUPPORTBOT_PORT", "-1")
    assert main(["kb", "check"]) == 2
    err = capsys.readouterr().err
    assert "SUPPORTBOT_PORT: Input should be greater than or equal to 1" in err


def test_every_setting_is_documented_in_readme_and_env_example() -> None:
    names = [name for name, _, _ in settings_table()]
    assert len(names) == len(Settings.model_fields)
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "deploy" / "env.example").read_text()
    for name in names:
        assert f"`{name}`" in readme, f"{name} missing from the README's settings table"
        assert re.search(rf"^#? ?{name}=", example, re.MULTILINE), f"{name} missing from deploy/env.example"
