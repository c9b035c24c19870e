"""A password of a few characters is kept out of errors like any other (trust issue, a gap the
review found: the library's redactor skipped secrets under four characters while the CLI
scrubbed them, so a three-letter password echoed by the service reached the error text)."""

from __future__ import annotations

import pytest
from meli_support import CannedServer

from smsbridge import Client

pytestmark = pytest.mark.sms_real_providers

SHORT = "k3y"
FAULT = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    "<soap:Fault><faultcode>soap:Server</faultcode>"
    f"<faultstring>ECHO-MARK login failed for password={SHORT}</faultstring>"
    "</soap:Fault></soap:Body></soap:Envelope>"
).encode()
"""A hostile SOAP Fault echoing the password; ECHO-MARK shows its text reached the error."""


def _url(endpoint: str) -> str:
    return f"melipayamak://user:{SHORT}@/?from=50004001234567&endpoint={endpoint}"


def test_library_errors_mask_it() -> None:
    with CannedServer(500, FAULT) as server, Client(_url(server.url)) as client:
        error = client.send("hi", ["09121234567"])[0].error
    assert error is not None
    assert error.provider_text == "ECHO-MARK login failed for password=********"
    assert SHORT not in repr(error)
