"""Where generation may send requests: allowed base URLs, address checks, guarded transports.

A configuration's base URL must match an allowed destination (:func:`destinations_allowed`):
the public OpenAI and Azure OpenAI endpoints (setting ``GENERATION_PUBLIC_ENDPOINTS``, on by
default) and the entries of ``GENERATION_ALLOWED_BASE_URLS`` (``scheme://host[:port][/path]``;
``*.`` in front of a host allows its subdomains; without a path the whole origin is allowed,
with one only URLs under it). Hosts are compared after normalisation (:func:`host_normalise`:
case, a trailing dot, IDNA, IPv6 brackets and the integer, hexadecimal, octal and short forms
of IPv4 addresses such as ``2130706433`` or ``0x7f000001``), the port after filling in the
scheme's default. Only ``http`` and ``https`` are accepted.

Every request the ``openai`` client sends goes through :class:`GuardedAsyncTransport` (or
:class:`GuardedTransport` for the synchronous client), which checks it again at request time:

* it must stay on the origin of the configured base URL and under the allowed path, so a
  redirect to another host, port or scheme (or out of the allowed path) is refused before
  anything is sent;
* the host is resolved once and every address is checked (:func:`address_problem`):
  link-local and cloud metadata addresses are refused unless ``GENERATION_ALLOW_LINK_LOCAL``,
  the unspecified and multicast addresses always, and the public endpoints must resolve to
  public addresses; the connection then goes to the checked address (the host name is still
  sent as ``Host`` and used for TLS), so a second, different DNS answer cannot redirect it.

When an ``HTTP(S)_PROXY`` environment variable applies to the host the request goes through
that proxy, which resolves the name itself: the origin and path checks still apply, the
address checks apply to IP addresses written in the URL only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

from readerstudy.core.llm.keys import ConnectionSettingsError

BASE_URLS_SETTING = "GENERATION_ALLOWED_BASE_URLS"
PUBLIC_SETTING = "GENERATION_PUBLIC_ENDPOINTS"
LINK_LOCAL_SETTING = "GENERATION_ALLOW_LINK_LOCAL"

#: The public endpoints allowed by ``GENERATION_PUBLIC_ENDPOINTS`` (OpenAI; Azure OpenAI
#: resources, classic and AI Foundry host names).
PUBLIC_ENDPOINTS = (
    "https://api.openai.com/v1",
    "https://*.openai.azure.com",
    "https://*.cognitiveservices.azure.com",
)
SCHEMES = {"http": 80, "https": 443}
#: Cloud metadata services outside 169.254.0.0/16 and fe80::/10 (AWS IPv6, Alibaba, Oracle,
#: the Azure wire server): refused like link-local addresses.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("fd00:ec2::254", "fd00:ec2::23", "100.100.100.200", "192.0.0.192", "168.63.129.16")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_PART = re.compile(r"^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$")
_FORBIDDEN_CHARACTERS = re.compile(r"[\s\\\x00-\x1f\x7f]")


class DestinationNotAllowedError(ConnectionSettingsError):
    """The base URL (or a request or redirect) goes somewhere the settings do not allow."""


def validate_base_url(value: str) -> None:
    """An http(s) URL with a host; internal host names without a domain (``http://vllm:8000/v1``)
    are fine, credentials in the URL are not (keys come from the environment only)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("enter an http:// or https:// URL with a host name")
    if parts.username or parts.password:
        raise ValidationError("no user name or password in the URL: keys come from the environment")
    if parts.query or parts.fragment:
        raise ValidationError("the base URL takes no query string or fragment")


# ----------------------------------------------------------------------------- parsing


def _legacy_ipv4(host: str) -> str | None:
    """The dotted form of ``host`` when it is an IPv4 address in any form ``inet_aton`` takes
    (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``); None for a host name."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.match(p) for p in parts):
        return None
    numbers = []
    for part in parts:
        if part.startswith("0x"):
            numbers.append(int(part[2:] or "0", 16))
        elif part.startswith("0") and len(part) > 1:
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host} is not a valid IPv4 address")
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return str(ipaddress.IPv4Address(value))


def _unwrap(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Any:
    """The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address, else ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def host_normalise(host: str) -> str:
    """``host`` as compared: lower case, no trailing dot, IDNA (punycode), no IPv6 brackets,
    IPv4 addresses in dotted decimal (also when written as integers, hex, octal or mapped
    into IPv6). Raises ``ValueError`` for something that is not a host."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise ValueError("the URL has no host")
    if ":" in host:
        if "%" in host:
            raise ValueError("IPv6 zone ids (%…) are not accepted")
        try:
            ip = ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise ValueError(f"{host} is not a valid IPv6 address") from exc
        return str(_unwrap(ip))
    legacy = _legacy_ipv4(host)
    if legacy is not None:
        return legacy
    try:
        encoded = httpx2.URL(f"http://{host}/").raw_host.decode("ascii")
    except (httpx2.InvalidURL, UnicodeError) as exc:
        raise ValueError(f"{host} is not a valid host name") from exc
    return encoded.lower().rstrip(".")


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@dataclass(frozen=True)
class Origin:
    """Scheme, normalised host and port of a URL, and its path (no trailing slash)."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def of(cls, url: str | httpx2.URL, *, wildcard: bool = False) -> Origin:
        """Parse ``url`` as the HTTP client will; ``ValueError`` with the reason if unusable."""
        text = str(url)
        if _FORBIDDEN_CHARACTERS.search(text):
            raise ValueError("the URL contains spaces, backslashes or control characters")
        try:
            parsed = url if isinstance(url, httpx2.URL) else httpx2.URL(text)
        except httpx2.InvalidURL as exc:
            raise ValueError(f"not a valid URL ({exc})") from exc
        scheme = parsed.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError("only http:// and https:// URLs are accepted")
        if parsed.userinfo:
            raise ValueError("no user name or password in the URL")
        raw_host = parsed.raw_host.decode("ascii")
        if wildcard and raw_host.startswith("*."):
            host = "*." + host_normalise(raw_host[2:])
        else:
            host = host_normalise(raw_host)
        path = parsed.raw_path.decode("ascii").split("?", 1)[0]
        segments = path.split("/")
        if any(s in (".", "..") or "%2e" in s.lower() or "%2f" in s.lower() for s in segments):
            raise ValueError("the URL path contains . or .. segments")
        return cls(scheme, host, parsed.port or SCHEMES[scheme], path.rstrip("/"))

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = SCHEMES[self.scheme] == self.port
        return f"{self.scheme}://{host}" + ("" if default else f":{self.port}")

    def same_origin(self, other: Origin) -> bool:
        return (self.scheme, self.host, self.port) == (other.scheme, other.host, other.port)


@dataclass(frozen=True)
class Destination:
    """An allowed base URL (``*.`` hosts allow their subdomains; an empty path the origin)."""

    entry: str
    where: Origin
    public: bool = False

    def allows(self, url: Origin) -> bool:
        host = self.where.host
        if host.startswith("*."):
            host_ok = url.host.endswith(host[1:]) and len(url.host) > len(host) - 1
        else:
            host_ok = url.host == host
        path = self.where.path
        return (
            url.scheme == self.where.scheme
            and url.port == self.where.port
            and host_ok
            and (not path or url.path == path or url.path.startswith(path + "/"))
        )


def destination_parse(entry: str, *, public: bool = False) -> Destination:
    """One entry of ``GENERATION_ALLOWED_BASE_URLS``; ``ValueError`` naming the problem."""
    where = Origin.of(entry.strip(), wildcard=True)
    return Destination(entry=entry.strip(), where=where, public=public)


def destination_problems() -> list[str]:
    """What is wrong with ``GENERATION_ALLOWED_BASE_URLS`` (for the system check)."""
    problems = []
    for entry in getattr(settings, BASE_URLS_SETTING, ()) or ():
        try:
            destination_parse(entry)
        except ValueError as exc:
            problems.append(f"{entry!r}: {exc}")
    return problems


def destinations_allowed() -> list[Destination]:
    """The allowed destinations under the current settings."""
    found = []
    if getattr(settings, PUBLIC_SETTING, True):
        found += [destination_parse(e, public=True) for e in PUBLIC_ENDPOINTS]
    for entry in getattr(settings, BASE_URLS_SETTING, ()) or ():
        try:
            found.append(destination_parse(entry))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{BASE_URLS_SETTING}: {entry!r}: {exc}") from exc
    return found


def link_local_allowed() -> bool:
    return bool(getattr(settings, LINK_LOCAL_SETTING, False))


# ------------------------------------------------------------------------------ checks


def address_problem(
    address: str, *, public: bool, allow_link_local: bool | None = None
) -> str | None:
    """Why the server must not connect to ``address`` (None when it may)."""
    allow_link_local = link_local_allowed() if allow_link_local is None else allow_link_local
    ip = _unwrap(ipaddress.ip_address(address.split("%", 1)[0]))
    if ip.is_unspecified or ip.is_multicast:
        return f"{ip} is an unspecified or multicast address"
    if (ip.is_link_local or ip in METADATA_ADDRESSES) and not allow_link_local:
        return (
            f"{ip} is a link-local or cloud metadata address (allowed only with "
            f"{LINK_LOCAL_SETTING}=1)"
        )
    if public and not ip.is_global:
        return f"{ip} is not a public address, but the destination is a public endpoint"
    return None


@dataclass(frozen=True)
class Route:
    """A configured base URL and the destination that allows it."""

    base: Origin
    destination: Destination

    def check(self, url: httpx2.URL) -> Origin:
        """The request ``url`` may be sent on this route (same origin, allowed path)."""
        try:
            target = Origin.of(url)
        except ValueError as exc:
            raise DestinationNotAllowedError(f"request to {url} refused: {exc}") from None
        if not target.same_origin(self.base):
            raise DestinationNotAllowedError(
                f"request to {target.origin} refused: only {self.base.origin}, the origin of "
                "the configured base URL, is contacted (redirects to another host, port or "
                "scheme are not followed)"
            )
        if not self.destination.allows(target):
            raise DestinationNotAllowedError(
                f"request to {target.origin}{target.path} refused: outside the allowed base "
                f"URL {self.destination.entry}"
            )
        return target

    def addresses_check(self, host: str, addresses: Iterable[str]) -> str:
        """The first of ``addresses`` of ``host``, once every one of them has been checked."""
        found = list(dict.fromkeys(addresses))
        if not found:
            raise DestinationNotAllowedError(f"{host} has no address")
        for address in found:
            problem = address_problem(address, public=self.destination.public)
            if problem:
                raise DestinationNotAllowedError(f"request to {host} refused: {problem}")
        return found[0]


def base_url_problem(base_url: str) -> str | None:
    """Why ``base_url`` cannot be used on this server (None when it can)."""
    try:
        route_for(base_url)
    except DestinationNotAllowedError as exc:
        return str(exc)
    return None


def route_for(base_url: str) -> Route:
    """The route of ``base_url``; ``DestinationNotAllowedError`` naming the URL and the setting."""
    try:
        base = Origin.of(base_url)
    except ValueError as exc:
        raise DestinationNotAllowedError(f"the base URL {base_url} cannot be used: {exc}") from None
    for destination in destinations_allowed():
        if destination.allows(base):
            ip = _ip(base.host)
            if ip is not None:
                problem = address_problem(str(ip), public=destination.public)
                if problem:
                    raise DestinationNotAllowedError(
                        f"the base URL {base_url} is not allowed: {problem}"
                    )
            return Route(base=base, destination=destination)
    public = "the public OpenAI and Azure OpenAI endpoints and " if _public_on() else ""
    raise DestinationNotAllowedError(
        f"the base URL {base_url} is not allowed on this server (host {base.origin}): the "
        f"server may contact {public}the base URLs in {BASE_URLS_SETTING} only; ask the "
        "administrator to add it"
    )


def _public_on() -> bool:
    return bool(getattr(settings, PUBLIC_SETTING, True))


# -------------------------------------------------------------------------- transports


def _proxy_for(url: httpx2.URL, proxies: dict[str, str]) -> str | None:
    """The environment's proxy for ``url`` (``proxies``: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY,
    NO_PROXY as read by ``urllib.request.getproxies_environment``)."""
    if not proxies:
        return None
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy:
        return None
    host = url.host
    # Undocumented, so typeshed leaves it out; the function getproxies_environment pairs with.
    if urllib.request.proxy_bypass_environment(host, proxies):  # type: ignore[attr-defined]
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _pinned(request: httpx2.Request, address: str) -> httpx2.Request:
    """A copy of ``request`` that connects to ``address`` (Host header and TLS name kept)."""
    extensions = dict(request.extensions)
    if request.url.scheme == "https":
        extensions["sni_hostname"] = request.url.host
    return httpx2.Request(
        request.method,
        request.url.copy_with(host=address),
        headers=request.headers,
        stream=request.stream,
        extensions=extensions,
    )


def _connect_timeout(request: httpx2.Request) -> float | None:
    timeout = request.extensions.get("timeout") or {}
    value = timeout.get("connect") if isinstance(timeout, dict) else None
    return float(value) if value is not None else None


class _Guard:
    """What both transports share: the route, the environment's proxies, one transport per
    proxy and one for direct connections (``factory`` makes them)."""

    def __init__(self, route: Route, factory: Any, options: dict[str, Any]) -> None:
        self.route = route
        self._factory = factory
        self._options = options
        self._direct = factory(**options)
        self._proxied: dict[str, Any] = {}
        self._proxies = urllib.request.getproxies_environment()

    def _checked(self, request: httpx2.Request) -> tuple[Origin, Any | None]:
        """The request's target once its route allows it, and the proxy transport to use
        (None: connect directly, to an address checked with :meth:`_pinned_to`)."""
        target = self.route.check(request.url)
        proxy = _proxy_for(request.url, self._proxies)
        if proxy is None:
            return target, None
        if proxy not in self._proxied:
            self._proxied[proxy] = self._factory(proxy=proxy, **self._options)
        return target, self._proxied[proxy]

    def _pinned_to(
        self, request: httpx2.Request, target: Origin, addresses: list[str]
    ) -> httpx2.Request:
        return _pinned(request, self.route.addresses_check(target.host, addresses))

    def _transports(self) -> list[Any]:
        return [self._direct, *self._proxied.values()]


def _addresses(infos: list[Any]) -> list[str]:
    return [str(info[4][0]) for info in infos]


class GuardedAsyncTransport(_Guard, httpx2.AsyncBaseTransport):
    """Sends a request only on its route, to checked addresses (see the module docstring)."""

    def __init__(self, route: Route, **transport_options: Any) -> None:
        super().__init__(route, httpx2.AsyncHTTPTransport, transport_options)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        target, proxied = self._checked(request)
        if proxied is not None:
            return await proxied.handle_async_request(request)
        addresses = [target.host]
        if _ip(target.host) is None:
            loop = asyncio.get_running_loop()
            lookup = loop.getaddrinfo(request.url.host, target.port, type=socket.SOCK_STREAM)
            try:
                addresses = _addresses(await asyncio.wait_for(lookup, _connect_timeout(request)))
            except (TimeoutError, OSError) as exc:
                raise httpx2.ConnectError(f"{request.url.host} cannot be resolved: {exc}") from exc
        pinned = self._pinned_to(request, target, addresses)
        return await self._direct.handle_async_request(pinned)

    async def aclose(self) -> None:
        for transport in self._transports():
            await transport.aclose()


class GuardedTransport(_Guard, httpx2.BaseTransport):
    """The synchronous twin of :class:`GuardedAsyncTransport` (files, batches, fine-tuning)."""

    def __init__(self, route: Route, **transport_options: Any) -> None:
        super().__init__(route, httpx2.HTTPTransport, transport_options)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        target, proxied = self._checked(request)
        if proxied is not None:
            return proxied.handle_request(request)
        addresses = [target.host]
        if _ip(target.host) is None:
            try:
                infos = socket.getaddrinfo(request.url.host, target.port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise httpx2.ConnectError(f"{request.url.host} cannot be resolved: {exc}") from exc
            addresses = _addresses(infos)
        return self._direct.handle_request(self._pinned_to(request, target, addresses))

    def close(self) -> None:
        for transport in self._transports():
            transport.close()


MAX_REDIRECTS = 5
#: The connection limits the ``openai`` client uses by default.
LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)


def _client_options(timeout: Any) -> dict[str, Any]:
    return {"timeout": timeout, "follow_redirects": True, "max_redirects": MAX_REDIRECTS}


def async_http_client(route: Route, *, timeout: Any) -> httpx2.AsyncClient:
    """The HTTP client for the async ``openai`` client of ``route``."""
    transport = GuardedAsyncTransport(route, limits=LIMITS)
    return httpx2.AsyncClient(transport=transport, **_client_options(timeout))


def sync_http_client(route: Route, *, timeout: Any) -> httpx2.Client:
    """The HTTP client for the synchronous ``openai`` client of ``route``."""
    return httpx2.Client(
        transport=GuardedTransport(route, limits=LIMITS), **_client_options(timeout)
    )
