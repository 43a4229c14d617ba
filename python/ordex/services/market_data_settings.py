"""Settings of the outside-facing market-data features: ccxt and the CORS proxy.

Read from the environment like `ordex.config.Settings` (same `.env`), kept apart because only the
market-data service, the proxy and the live streams read them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MarketDataSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # exchange id -> base URL that replaces the scheme and host of every ccxt API URL of that
    # exchange (a mirror, a regional endpoint, a local test server). JSON in the environment.
    ordex_ccxt_base_urls: dict[str, str] = {}
    ordex_ccxt_timeout_ms: Annotated[int, Field(ge=100)] = 15_000
    # How often a live stream polls an exchange when ccxt.pro has no watch method for it.
    ordex_ccxt_poll_seconds: Annotated[float, Field(gt=0)] = 2.0

    # The CORS proxy refuses loopback, private, link-local, multicast and metadata addresses
    # unless this is on, or the host is listed in ordex_proxy_allowed_hosts.
    ordex_proxy_allow_private: bool = False
    ordex_proxy_allowed_hosts: list[str] = []
    ordex_proxy_max_bytes: Annotated[int, Field(ge=1024)] = 5 * 1024 * 1024
    ordex_proxy_max_timeout_ms: Annotated[int, Field(ge=100)] = 30_000
    ordex_proxy_max_redirects: Annotated[int, Field(ge=0, le=20)] = 5
