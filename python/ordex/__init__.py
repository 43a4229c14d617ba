"""ordex: a self-hosted crypto trading platform around a Rust matching core."""

from ordex._engine import __version__

__all__ = ["__version__"]
