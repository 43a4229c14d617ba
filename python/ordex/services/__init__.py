"""Domain services: one module per domain, SQL stays in `ordex.db`."""
