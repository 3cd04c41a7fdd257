"""The root of every error the bot package raises on purpose."""


class SupportBotError(Exception):
    """Base class; callers that must not crash catch this one."""


class SettingsError(SupportBotError):
    """Configuration is invalid; the message names the setting and what is allowed."""


class InvalidMessageError(SupportBotError):
    """A customer message cannot be processed (empty, too long, not text)."""
