"""Exchange workers: outbox publisher, matcher, persister and the Redis intake."""
