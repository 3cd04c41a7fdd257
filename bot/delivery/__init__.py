"""Getting stored replies to customers: the outbox sender and its rate limits."""
