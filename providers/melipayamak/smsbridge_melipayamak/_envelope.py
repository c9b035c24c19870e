"""SOAP 1.1 for Send.asmx without zeep's per-request machinery: envelopes out, values in.

The envelope is byte for byte the one zeep builds from the packaged WSDL (same prefixes, order
and escaping; tests/test_envelope.py holds the two side by side for every operation), and the
reply parser agrees with zeep's on every reply shape the emulator and the fault tests produce.
The parser is hardened the way zeep's is: no DTDs, no entities, no network, no huge trees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import escape

from lxml import etree

__all__ = ["SOAP_NS", "TNS", "Fault", "Reply", "envelope", "parse_reply", "soap_action"]

SOAP_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
TNS: Final = "http://tempuri.org/"
_HEAD: Final = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    f'<soap-env:Envelope xmlns:soap-env="{SOAP_NS}"><soap-env:Body>'
)
_TAIL: Final = "</soap-env:Body></soap-env:Envelope>"

Field = tuple[str, str | Sequence[tuple[str, str]]]
"""A parameter: its name and a text, or a list of ``(item element, text)`` for an array."""


def soap_action(operation: str) -> str:
    """The SOAPAction header value ASMX expects (quoted, as zeep sends it)."""
    return f'"{TNS}{operation}"'


# lxml (and so zeep) writes a carriage return as a character reference: a raw one would be
# read back as a newline by every XML parser (XML 1.0, 2.11), and "\r\n" would lose its "\r".
_ENTITIES: Final = {"\r": "&#13;"}


def _element(name: str, value: str | Sequence[tuple[str, str]]) -> str:
    if isinstance(value, str):
        return f"<ns0:{name}>{escape(value, _ENTITIES)}</ns0:{name}>"
    items = "".join(f"<ns0:{item}>{escape(text, _ENTITIES)}</ns0:{item}>" for item, text in value)
    return f"<ns0:{name}>{items}</ns0:{name}>"


def envelope(operation: str, fields: Sequence[Field]) -> bytes:
    """The request envelope for ``operation`` with ``fields`` in WSDL order."""
    inner = "".join(_element(name, value) for name, value in fields)
    return (f'{_HEAD}<ns0:{operation} xmlns:ns0="{TNS}">{inner}</ns0:{operation}>{_TAIL}').encode()


class Fault(Exception):
    """The reply is a SOAP Fault."""

    def __init__(self, code: str | None, message: str | None) -> None:
        super().__init__(message or "SOAP Fault")
        self.code = code
        self.message = message


class Malformed(ValueError):
    """The reply is not a well-formed SOAP envelope of the expected operation."""


def _parser() -> etree.XMLParser:
    # Comments are dropped as zeep's parser drops them: "<n><!-- -->1</n>" reads 1.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        remove_blank_text=True,
        remove_comments=True,
    )


class Reply:
    """The child elements of ``<OperationResponse>``, by local name.

    Every value in Send.asmx's replies is a number or base64, whose XSD types collapse
    whitespace, so texts come back stripped, as zeep reads them.
    """

    def __init__(self, children: dict[str, etree._Element]) -> None:
        self.children = children

    def text(self, name: str) -> str | None:
        element = self.children.get(name)
        return None if element is None else (element.text or "").strip()

    def items(self, name: str) -> list[str] | None:
        element = self.children.get(name)
        if element is None:
            return None
        return [(child.text or "").strip() for child in element if isinstance(child.tag, str)]


def parse_reply(content: bytes, operation: str) -> Reply:
    """The response element of ``operation``; :class:`Fault` for a SOAP Fault.

    :raises Malformed: not XML, a DTD, not a SOAP 1.1 envelope, or another element.
    """
    try:
        root = etree.fromstring(content, _parser())
    except (etree.XMLSyntaxError, ValueError) as error:
        raise Malformed(f"not XML ({type(error).__name__})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise Malformed("the reply declares a DTD")
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise Malformed("the reply is not a SOAP 1.1 envelope")
    body = root.find(f"{{{SOAP_NS}}}Body")
    first = None if body is None else next((c for c in body if isinstance(c.tag, str)), None)
    if first is None:
        raise Malformed("the reply has an empty SOAP body")
    if first.tag == f"{{{SOAP_NS}}}Fault":
        code = first.findtext("faultcode")
        raise Fault(code.strip() if code else None, first.findtext("faultstring"))
    if first.tag != f"{{{TNS}}}{operation}Response":
        raise Malformed(f"the reply holds {etree.QName(first).localname}, not {operation}Response")
    return Reply(
        {etree.QName(child).localname: child for child in first if isinstance(child.tag, str)}
    )
