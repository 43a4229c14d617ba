"""The CORS proxy (`POST /api/proxy/request`): fetches a URL for a browser client, refusing internal
destinations.

Every hop is checked after DNS resolution: the host name is resolved here, every address it
resolves to must be public (not loopback, private, link-local, CGNAT, multicast, reserved,
unspecified, or a cloud metadata address; IPv4-mapped IPv6 is judged by its IPv4 address), and the
connection then goes to that checked address (Host header and TLS SNI keep the name), so a second
DNS answer cannot swap in an internal address. Redirects are followed here, one hop at a time,
each one checked the same way. Hosts named in the configuration's allow list, or every host when
private destinations are allowed, skip the address check.

Limits: an overall timeout (the request's own, capped by configuration) answers 408; a response body
over the size limit answers 413.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

from ordex.services.errors import ServiceError
from ordex.services.market_data_settings import MarketDataSettings

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# Cloud metadata services; most are link-local already, listed so the refusal says so.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})
# Never forwarded: connection-level headers, and ones the proxy sets from the checked target.
DROPPED_REQUEST_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
DROPPED_RESPONSE_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}
)


def refused(message: str) -> ServiceError:
    return ServiceError(403, "PROXY_DESTINATION_REFUSED", message)


def invalid(message: str, field: str = "url") -> ServiceError:
    return ServiceError(400, "VALIDATION_ERROR", message, field=field)


def address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not a public destination, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    # Most specific first: 0.0.0.0 and many special ranges also count as "private".
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return f"a {name} address"
    if not address.is_global:
        return "not a public address"
    return None


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    address: str  # the checked address the connection goes to


@dataclass(frozen=True, slots=True)
class ProxyRequest:
    url: str
    method: str = "GET"
    headers: dict[str, str] | None = None
    body: Any = None
    timeout_ms: int | None = None


class CorsProxy:
    def __init__(self, settings: MarketDataSettings) -> None:
        self._allow_private = settings.ordex_proxy_allow_private
        self._allowed_hosts = {h.lower().rstrip(".") for h in settings.ordex_proxy_allowed_hosts}
        self._max_bytes = settings.ordex_proxy_max_bytes
        self._max_timeout_ms = settings.ordex_proxy_max_timeout_ms
        self._max_redirects = settings.ordex_proxy_max_redirects
        # No environment proxies and no redirects: every hop is chosen and checked here.
        self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=None)

    async def close(self) -> None:
        await self._client.aclose()

    async def resolve(self, url: str) -> Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise invalid("url must be an http or https URL")
        if parts.username or parts.password:
            raise invalid("url must not carry credentials")
        try:
            host, port = parts.hostname, parts.port
        except ValueError as exc:
            raise invalid("url has an invalid port") from exc
        if not host:
            raise invalid("url has no host")
        host = host.lower().rstrip(".")
        port = port or (443 if scheme == "https" else 80)
        allowed = self._allow_private or host in self._allowed_hosts
        if not allowed and host in METADATA_HOSTS:
            raise refused(f"{host} is a cloud metadata host")
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise ServiceError(502, "PROXY_DNS_FAILED", f"cannot resolve {host}") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not addresses:
            raise ServiceError(502, "PROXY_DNS_FAILED", f"cannot resolve {host}")
        if not allowed:
            for address in addresses:
                reason = address_refusal(address)
                if reason is not None:
                    raise refused(f"{host} resolves to {address}, {reason}")
        return Target(url, scheme, host, port, str(addresses[0]))

    async def request(self, req: ProxyRequest) -> dict[str, Any]:
        method = req.method.upper()
        if method not in METHODS:
            raise invalid(f"method must be one of {', '.join(METHODS)}", "method")
        timeout_ms = min(req.timeout_ms or self._max_timeout_ms, self._max_timeout_ms)
        try:
            async with asyncio.timeout(timeout_ms / 1000):
                return await self._follow(req, method)
        except TimeoutError as exc:
            raise ServiceError(
                408, "REQUEST_TIMEOUT", f"no answer from the target within {timeout_ms} ms"
            ) from exc

    async def _follow(self, req: ProxyRequest, method: str) -> dict[str, Any]:
        url, body = req.url, _encode_body(req.body)
        headers = {
            k: v for k, v in (req.headers or {}).items() if k.lower() not in DROPPED_REQUEST_HEADERS
        }
        sends_json = req.body is not None and not isinstance(req.body, str)
        if sends_json and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        for _hop in range(self._max_redirects + 1):
            target = await self.resolve(url)
            response = await self._send(target, method, headers, body)
            location = response.headers.get("location")
            if response.status_code in REDIRECT_STATUSES and location:
                await response.aclose()
                url = urljoin(url, location)
                if response.status_code == 303 or (
                    response.status_code in (301, 302) and method == "POST"
                ):
                    method, body = "GET", None
                continue
            return await self._answer(response)
        raise ServiceError(502, "PROXY_TOO_MANY_REDIRECTS", "too many redirects")

    async def _send(
        self, target: Target, method: str, headers: dict[str, str], body: bytes | None
    ) -> httpx.Response:
        parts = urlsplit(target.url)
        address = f"[{target.address}]" if ":" in target.address else target.address
        pinned = parts._replace(netloc=f"{address}:{target.port}").geturl()
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
        request = self._client.build_request(
            method,
            pinned,
            headers={**headers, "Host": host_header},
            content=body,
            extensions={"sni_hostname": target.host},
        )
        try:
            return await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ServiceError(
                502, "PROXY_UPSTREAM_FAILED", f"cannot reach {target.host}: {type(exc).__name__}"
            ) from exc

    async def _answer(self, response: httpx.Response) -> dict[str, Any]:
        try:
            declared = int(response.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        if declared > self._max_bytes:
            await response.aclose()
            raise _too_large(self._max_bytes)
        chunks: list[bytes] = []
        received = 0
        try:
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > self._max_bytes:
                    raise _too_large(self._max_bytes)
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise ServiceError(502, "PROXY_UPSTREAM_FAILED", "the target broke off") from exc
        finally:
            await response.aclose()
        raw = b"".join(chunks)
        data: Any
        if "json" in response.headers.get("content-type", ""):
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                data = raw.decode("utf-8", "replace")
        else:
            data = raw.decode("utf-8", "replace")
        return {
            "success": True,
            "status": response.status_code,
            "statusText": response.reason_phrase,
            "headers": {
                k: v for k, v in response.headers.items() if k not in DROPPED_RESPONSE_HEADERS
            },
            "data": data,
        }


def _too_large(limit: int) -> ServiceError:
    return ServiceError(413, "PAYLOAD_TOO_LARGE", f"the target's answer exceeds {limit} bytes")


def _encode_body(body: Any) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode()
    return orjson.dumps(body)
