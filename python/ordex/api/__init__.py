"""The HTTP API: app factory, dependencies, error envelopes and one router per route family."""
