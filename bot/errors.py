"""The root of every error the bot package raises on purpose."""


class SupportBotError(Exception):
    """Base class; callers that must not crash catch this one."""


class SettingsError(SupportBotError):
    """Configuration is invalid; the message names the setting and what is allowed."""


class InvalidMessageError(SupportBotError):
    """A customer message cannot be processed (empty, too long, not text)."""


class DeliveryError(SupportBotError):
    """A reply could not be sent now; the subclass says what the outbox should do about it."""


class RetryLater(DeliveryError):
    """The vendor asked us to slow down (HTTP 429): try again after `seconds`."""

    def __init__(self, seconds: float, message: str = "rate limited") -> None:
        super().__init__(message)
        self.seconds = seconds


class TemporaryFailure(DeliveryError):
    """A 5xx, a timeout or a network error: retry with backoff."""


class Undeliverable(DeliveryError):
    """It can never be delivered (the customer blocked the bot, the chat is gone)."""


class RecipientOffline(DeliveryError):
    """Nobody is connected to receive it (a closed widget): deliver when they come back."""
