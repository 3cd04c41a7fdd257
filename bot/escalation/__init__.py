"""Escalation: knowing when a person must take over, and saying why (reason codes with evidence)."""
