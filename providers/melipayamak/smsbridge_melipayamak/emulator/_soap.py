"""SOAP 1.1 envelopes: a hardened parser for requests and byte templates for responses.

Responses are built as strings with escaping rather than through lxml: they are tiny, fixed
shapes, and this is the hot path of the throughput benchmark.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Final
from xml.sax.saxutils import escape

import attrs
from lxml import etree

__all__ = [
    "SOAP_NS",
    "TNS",
    "Call",
    "SoapError",
    "envelope",
    "fault_envelope",
    "parse_call",
]

SOAP_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
TNS: Final = "http://tempuri.org/"
_BODY: Final = f"{{{SOAP_NS}}}Body"
_HEAD: Final = (
    '<?xml version="1.0" encoding="utf-8"?>'
    f'<soap:Envelope xmlns:soap="{SOAP_NS}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>'
)
_TAIL: Final = "</soap:Body></soap:Envelope>"


class SoapError(Exception):
    """A request the emulator refuses; becomes a SOAP Fault with ``code`` (Client/Server)."""

    def __init__(self, message: str, code: str = "Client") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@attrs.frozen
class Call:
    """A parsed request: the operation name and its parameters by local element name."""

    operation: str
    params: dict[str, etree._Element]

    def text(self, name: str) -> str:
        """A string parameter; missing or nil reads as the empty string."""
        element = self.params.get(name)
        return "" if element is None or element.text is None else element.text

    def boolean(self, name: str) -> bool:
        """An xsd:boolean parameter; missing reads as false, like ASMX's default value."""
        value = self.text(name).strip()
        if value in {"", "false", "0"}:
            return False
        if value in {"true", "1"}:
            return True
        msg = f"'{value}' is not a valid value for {name} (xsd:boolean)."
        raise SoapError(msg)

    def items(self, name: str) -> list[str]:
        """The children's texts of an ArrayOf* parameter (nil items read as '')."""
        element = self.params.get(name)
        if element is None:
            return []
        return [child.text or "" for child in element if isinstance(child.tag, str)]

    def integer(self, name: str) -> int:
        """An xsd:int parameter (minOccurs 1: missing is refused, as ASMX does)."""
        value = self.text(name).strip()
        digits = value.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()) or not -(2**31) <= int(value) < 2**31:
            msg = f"'{value}' is not a valid value for {name} (xsd:int)."
            raise SoapError(msg)
        return int(value)

    def longs(self, name: str) -> list[int]:
        """An ArrayOfLong parameter."""
        try:
            return [int(item) for item in self.items(name)]
        except ValueError as exc:
            msg = f"{name} contains a value that is not an xsd:long."
            raise SoapError(msg) from exc


_local = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; one per handler thread is cheap.
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_blank_text=True,
        )
        _local.parser = parser
    return parser


def parse_call(body: bytes) -> Call:
    """Parse a SOAP 1.1 request envelope; raise :class:`SoapError` for anything malformed."""
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        msg = f"Server was unable to read request. There is an error in the XML document: {exc}"
        raise SoapError(msg) from exc
    # lxml-stubs lacks DocInfo.doctype.
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        msg = "DTD is prohibited in this XML document."
        raise SoapError(msg)
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        msg = "The root element is not a SOAP 1.1 Envelope."
        raise SoapError(msg)
    body_element = root.find(_BODY)
    operation = (
        None
        if body_element is None
        else next((child for child in body_element if isinstance(child.tag, str)), None)
    )
    if operation is None:
        msg = "The SOAP Body is missing or empty."
        raise SoapError(msg)
    name = etree.QName(operation)
    if name.namespace != TNS:
        msg = f"Unexpected element {{{name.namespace or ''}}}{name.localname} in the SOAP Body."
        raise SoapError(msg)
    params = {
        etree.QName(child).localname: child for child in operation if isinstance(child.tag, str)
    }
    return Call(operation=name.localname, params=params)


def envelope(inner: str) -> bytes:
    """Wrap a body fragment in the envelope ASMX writes."""
    return (_HEAD + inner + _TAIL).encode()


def fault_envelope(message: str, code: str = "Client") -> bytes:
    """A SOAP 1.1 Fault, shaped like the ones ASMX sends with HTTP 500."""
    return envelope(
        f"<soap:Fault><faultcode>soap:{code}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring><detail /></soap:Fault>"
    )


def _array(tag: str, item: str, values: Iterable[object]) -> str:
    inner = "".join(f"<{item}>{value}</{item}>" for value in values)
    return f"<{tag}>{inner}</{tag}>"


def send_sms_response(code: int, rec_ids: Sequence[int], statuses: bytes) -> bytes:
    """SendSmsResponse; recId and status are left out entirely when nothing was sent."""
    inner = f"<SendSmsResult>{code}</SendSmsResult>"
    if rec_ids:
        inner += _array("recId", "long", rec_ids)
        inner += f"<status>{base64.b64encode(statuses).decode('ascii')}</status>"
    return envelope(f'<SendSmsResponse xmlns="{TNS}">{inner}</SendSmsResponse>')


def pattern_response(result: str) -> bytes:
    """SendByBaseNumber2Response with its string result (a recId or a code)."""
    return envelope(
        f'<SendByBaseNumber2Response xmlns="{TNS}"><SendByBaseNumber2Result>{escape(result)}'
        "</SendByBaseNumber2Result></SendByBaseNumber2Response>"
    )


def credit_response(credit: float) -> bytes:
    """GetCreditResponse with an xsd:double."""
    return envelope(
        f'<GetCreditResponse xmlns="{TNS}"><GetCreditResult>{credit!r}</GetCreditResult>'
        "</GetCreditResponse>"
    )


def deliveries_response(statuses: Sequence[int]) -> bytes:
    """GetDeliveriesResponse with an ArrayOfInt."""
    result = _array("GetDeliveriesResult", "int", statuses)
    return envelope(f'<GetDeliveriesResponse xmlns="{TNS}">{result}</GetDeliveriesResponse>')


def delivery_response(status: int) -> bytes:
    """GetDeliveries2Response with an xsd:int."""
    return envelope(
        f'<GetDeliveries2Response xmlns="{TNS}"><GetDeliveries2Result>{status}'
        "</GetDeliveries2Result></GetDeliveries2Response>"
    )
