"""The installed package version."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("ordex")
except PackageNotFoundError:  # running from a source tree without an install
    VERSION = "0.0.0"
