"""Slack as the agents' desk: the Bolt app, Block Kit messages, and the worker that keeps Slack current."""
