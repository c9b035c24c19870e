"""zeep plumbing: clients built once from the packaged WSDL, and the one place foreign errors
become smsbridge errors.

zeep, requests, httpx and lxml are imported inside functions so that importing the plugin (which
every ``smsbridge`` start-up does) stays cheap.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.resources
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from smsbridge.exceptions import (
    OutcomeUnknownError,
    ProviderError,
    ProviderUnavailableError,
    UnknownProviderError,
)

__all__ = ["SERVICE_BINDING", "HttpStatusError", "SoapClients", "translate_errors", "wsdl_path"]

PROVIDER: Final = "melipayamak"
SERVICE_BINDING: Final = "{http://tempuri.org/}SendSoap"

# zeep logs every request body at DEBUG, and the body holds the password. Its transports get
# this logger instead, which never emits, whatever logging the application configured.
_SILENT = logging.getLogger("smsbridge_melipayamak.wire")
_SILENT.disabled = True


class HttpStatusError(Exception):
    """A reply that is not SOAP at all (an IIS or proxy error page), by HTTP status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _check_reply(status: int, content_type: str) -> None:
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if status != 200 and media_type not in ("text/xml", "application/soap+xml"):
        # zeep would report an HTML error page as a SOAP Fault without a code.
        raise HttpStatusError(status)


@functools.cache
def _transports() -> tuple[type[Any], type[Any]]:
    """zeep's transports, silenced and checking for non-SOAP replies; built on first use."""
    import zeep.transports

    # zeep is untyped where it matters; its classes are handled as Any.
    sync_base: Any = zeep.transports.Transport
    async_base: Any = zeep.transports.AsyncTransport

    class SyncTransport(sync_base):  # type: ignore[misc]
        def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
            response = super().post(address, message, headers)
            _check_reply(response.status_code, response.headers.get("Content-Type", ""))
            return response

    class AsyncTransport_(async_base):  # type: ignore[misc]
        async def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
            response = await super().post(address, message, headers)
            _check_reply(response.status_code, response.headers.get("Content-Type", ""))
            return response

    return SyncTransport, AsyncTransport_


@functools.cache
def _tls_context() -> Any:
    """One verifying TLS context for the process: loading the CA bundle costs ~40 ms a client."""
    import ssl

    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def wsdl_path() -> str:
    """The packaged WSDL as a file path; it imports nothing, so loading it needs no network."""
    resource = importlib.resources.files("smsbridge_melipayamak").joinpath("Send.wsdl")
    return str(resource)


def _settings() -> Any:
    import zeep

    return zeep.Settings(
        strict=True,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )


class SoapClients:
    """A sync zeep service and one async service per event loop, each built on first use."""

    def __init__(self, endpoint: str, timeout: float, max_connections: int) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.max_connections = max_connections
        self._lock = threading.Lock()
        self._sync: tuple[Any, Any] | None = None  # (service, requests.Session)
        self._async: dict[asyncio.AbstractEventLoop, tuple[Any, Any, Any]] = {}

    def service(self) -> Any:
        """The sync service proxy (``.SendSms(...)``), built once and shared by threads."""
        with self._lock:
            if self._sync is None:
                import requests
                import zeep

                sync_transport, _ = _transports()
                session = requests.Session()
                # requests re-reads proxy and CA settings from the environment on every
                # request (~0.5 ms each); read them once here instead, with the same meaning.
                session.trust_env = False
                session.proxies.update(requests.utils.get_environ_proxies(self.endpoint))
                ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                if ca_bundle:
                    session.verify = ca_bundle
                adapter = requests.adapters.HTTPAdapter(
                    pool_connections=1, pool_maxsize=self.max_connections
                )
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                transport = sync_transport(
                    session=session, timeout=self.timeout, operation_timeout=self.timeout
                )
                transport.logger = _SILENT
                client_cls: Any = zeep.Client
                client = client_cls(wsdl_path(), transport=transport, settings=_settings())
                self._sync = (client.create_service(SERVICE_BINDING, self.endpoint), session)
            return self._sync[0]

    def aservice(self) -> Any:
        """The async service proxy for the running event loop, built once per loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            for stale in [other for other in self._async if other.is_closed()]:
                # A finished asyncio.run(); its connections died with that loop.
                self._async.pop(stale)[2].close()
            found = self._async.get(loop)
            if found is None:
                import httpx
                import zeep
                from zeep.proxy import AsyncServiceProxy

                _, async_transport = _transports()
                limits = httpx.Limits(max_connections=self.max_connections)
                tls = _tls_context()
                client = httpx.AsyncClient(timeout=self.timeout, limits=limits, verify=tls)
                # Only used if a WSDL had to be fetched; ours is a local file, so never.
                wsdl_client = httpx.Client(timeout=self.timeout, verify=tls)
                transport = async_transport(client=client, wsdl_client=wsdl_client)
                transport.logger = _SILENT
                client_cls: Any = zeep.AsyncClient
                zclient = client_cls(wsdl_path(), transport=transport, settings=_settings())
                # AsyncClient.create_service would return a *sync* proxy (zeep 4.3).
                binding = zclient.wsdl.bindings[SERVICE_BINDING]
                proxy_cls: Any = AsyncServiceProxy
                proxy = proxy_cls(zclient, binding, address=self.endpoint)
                found = (proxy, client, wsdl_client)
                self._async[loop] = found
            return found[0]

    def close(self) -> None:
        """Close the sync session and the sync halves of the async clients."""
        with self._lock:
            if self._sync is not None:
                self._sync[1].close()
                self._sync = None
            for _, _, wsdl_client in self._async.values():
                wsdl_client.close()

    async def aclose(self) -> None:
        """Close everything; async clients of other (finished) loops are dropped."""
        loop = asyncio.get_running_loop()
        with self._lock:
            bundles, self._async = self._async, {}
        self.close()
        for owner, (_, client, wsdl_client) in bundles.items():
            wsdl_client.close()
            if owner is loop:
                await client.aclose()


def _connect_failed(exc: BaseException) -> bool:
    """True when the error chain shows the connection was never made (nothing was sent)."""
    import socket

    import httpx
    import urllib3.exceptions

    never_connected = (
        ConnectionRefusedError,
        socket.gaierror,
        urllib3.exceptions.NewConnectionError,
        urllib3.exceptions.ConnectTimeoutError,
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.PoolTimeout,
    )
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, never_connected):
            return True
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(current.args)
    return False


def _http_status_error(status: int, *, idempotent: bool) -> ProviderError:
    text = f"HTTP {status}"
    if status == 200:
        # A 200 whose body is not XML: the operation ran, its answer is unreadable.
        message = "melipayamak answered with malformed XML"
        if idempotent:
            return ProviderUnavailableError(message, provider=PROVIDER, provider_text=text)
        return OutcomeUnknownError(
            f"{message}; the request may have been sent", provider=PROVIDER, provider_text=text
        )
    if status in (502, 504) and not idempotent:
        # A gateway gave up on the service, which may still have processed the request.
        return OutcomeUnknownError(
            f"a gateway in front of melipayamak answered HTTP {status}; "
            "the request may have been sent",
            provider=PROVIDER,
            provider_code=status,
            provider_text=text,
        )
    if status >= 500:
        # ASMX turns an exception inside a web method into a SOAP Fault; a bare 5xx page comes
        # from IIS/ASP.NET before the method ran, so nothing was sent.
        return ProviderUnavailableError(
            f"melipayamak is unavailable (HTTP {status})",
            provider=PROVIDER,
            provider_code=status,
            provider_text=text,
        )
    return UnknownProviderError(
        f"melipayamak answered HTTP {status} without a SOAP reply; check the endpoint",
        provider=PROVIDER,
        provider_code=status,
        provider_text=text,
    )


def _translate(exc: Exception, *, idempotent: bool) -> ProviderError | None:
    import httpx
    import lxml.etree
    import requests
    import zeep.exceptions

    if isinstance(exc, zeep.exceptions.Fault):
        return UnknownProviderError(
            f"melipayamak answered with a SOAP Fault ({exc.code or 'no faultcode'})",
            provider=PROVIDER,
            provider_code=exc.code,
            provider_text=exc.message,
        )
    if isinstance(exc, HttpStatusError):
        return _http_status_error(exc.status, idempotent=idempotent)
    if isinstance(exc, zeep.exceptions.TransportError):
        return _http_status_error(exc.status_code, idempotent=idempotent)
    network = (requests.RequestException, httpx.TransportError, OSError)
    unreadable = (
        zeep.exceptions.XMLSyntaxError,
        zeep.exceptions.XMLParseError,
        zeep.exceptions.ValidationError,
        zeep.exceptions.LookupError,
        zeep.exceptions.DTDForbidden,
        zeep.exceptions.EntitiesForbidden,
        lxml.etree.LxmlError,
        UnicodeDecodeError,
    )
    if isinstance(exc, network) and _connect_failed(exc):
        return ProviderUnavailableError(
            f"cannot connect to melipayamak ({type(exc).__name__}); nothing was sent",
            provider=PROVIDER,
        )
    if isinstance(exc, network):
        what = (
            "timed out"
            if isinstance(exc, requests.Timeout | httpx.TimeoutException)
            else ("lost the connection")
        )
        if idempotent:
            return ProviderUnavailableError(
                f"melipayamak {what} ({type(exc).__name__})", provider=PROVIDER
            )
        return OutcomeUnknownError(
            f"melipayamak {what} after the request was written ({type(exc).__name__}); "
            "it may have been sent",
            provider=PROVIDER,
        )
    if isinstance(exc, unreadable):
        if idempotent:
            return ProviderUnavailableError(
                f"melipayamak's reply could not be read ({type(exc).__name__})", provider=PROVIDER
            )
        return OutcomeUnknownError(
            f"melipayamak's reply could not be read ({type(exc).__name__}); "
            "the request may have been sent",
            provider=PROVIDER,
        )
    return None


@contextmanager
def translate_errors(*, idempotent: bool) -> Iterator[None]:
    """Turn zeep, requests, httpx and lxml errors into smsbridge errors.

    ``idempotent`` operations (delivery queries) may be repeated safely, so a lost or unreadable
    reply makes them *unavailable*; for SendSms it makes the outcome *unknown*. Messages never
    quote the foreign error's text: it may contain the request, and so the password.
    """
    try:
        yield
    except ProviderError:
        raise
    except Exception as exc:
        ours = _translate(exc, idempotent=idempotent)
        if ours is None:
            raise
        raise ours from exc
