"""Speed measurements of the ordex engine, from Rust and through Python."""
