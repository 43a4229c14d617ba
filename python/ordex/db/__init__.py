"""Database access: the connection pool, the migration runner and the repositories holding SQL."""
