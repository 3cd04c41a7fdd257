"""supportbot: a self-hosted customer-support bot with human handoff."""

__version__ = "0.1.0"
