"""SOAP 1.1 for Send.asmx without zeep's per-request machinery: envelopes out, values in.

The envelope is byte for byte the one zeep builds from the packaged WSDL (same prefixes, order
and escaping; tests/test_envelope.py holds the two side by side for every operation), and the
reply parser agrees with zeep's on every reply shape the emulator and the fault tests produce.
The parser is hardened the way zeep's is: no DTDs, no entities, no network, no huge trees.
"""

from __future__ import annotations

import re
import threading
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

Field = tuple[str, str | tuple[str, Sequence[str]]]
"""A parameter: its name and a text, or for an array ``(item element, texts)``."""


def soap_action(operation: str) -> str:
    """The SOAPAction header value ASMX expects (quoted, as zeep sends it)."""
    return f'"{TNS}{operation}"'


# lxml (and so zeep) writes a carriage return as a character reference: a raw one would be
# read back as a newline by every XML parser (XML 1.0, 2.11), and "\r\n" would lose its "\r".
_ENTITIES: Final = {"\r": "&#13;"}


def _text(value: str) -> str:
    # Phone numbers and flags are plain ASCII letters and digits: nothing to escape, and this
    # runs once per recipient of a campaign.
    return value if value.isalnum() and value.isascii() else escape(value, _ENTITIES)


def _element(name: str, value: str | tuple[str, Sequence[str]]) -> str:
    if isinstance(value, str):
        return f"<ns0:{name}>{_text(value)}</ns0:{name}>"
    item, texts = value
    if not texts:
        return f"<ns0:{name}></ns0:{name}>"
    joined = "".join(texts)
    # A campaign's numbers (digits only) need no escaping: one join, no call per recipient.
    plain = texts if joined.isalnum() and joined.isascii() else [_text(text) for text in texts]
    close_open = f"</ns0:{item}><ns0:{item}>"
    return f"<ns0:{name}><ns0:{item}>{close_open.join(plain)}</ns0:{item}></ns0:{name}>"


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


_PARSERS = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's parser: building one costs more than parsing a reply, and lxml parsers
    must not be shared between threads."""
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        # Comments are dropped as zeep's parser drops them: "<n><!-- -->1</n>" reads 1.
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            remove_blank_text=True,
            remove_comments=True,
        )
        _PARSERS.parser = parser
    return parser


class Reply:
    """The child elements of ``<OperationResponse>`` by local name: each one's text and the
    texts of its own children (an array's items).

    Every value in Send.asmx's replies is a number or base64, whose XSD types collapse
    whitespace, so texts come back stripped, as zeep reads them.
    """

    def __init__(self, texts: dict[str, str], lists: dict[str, list[str]]) -> None:
        self.texts = texts
        self.lists = lists

    @classmethod
    def of(cls, response: etree._Element) -> Reply:
        """The reply read from the parsed response element."""
        texts: dict[str, str] = {}
        lists: dict[str, list[str]] = {}
        for child in response:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            texts[name] = (child.text or "").strip()
            lists[name] = [(item.text or "").strip() for item in child if isinstance(item.tag, str)]
        return cls(texts, lists)

    def text(self, name: str) -> str | None:
        return self.texts.get(name)

    def items(self, name: str) -> list[str] | None:
        return self.lists.get(name)


# The reply exactly as ASMX writes a successful SendSms or GetDeliveries: read without building
# a tree (a campaign reads one per 100 recipients). Anything else, down to a byte, goes through
# the hardened parser below; tests/test_envelope.py holds the two to the same answers.
_CANONICAL: Final = re.compile(
    rb'<\?xml version="1\.0" encoding="utf-8"\?>'
    rb'<soap:Envelope xmlns:soap="http://schemas\.xmlsoap\.org/soap/envelope/" '
    rb'xmlns:xsi="http://www\.w3\.org/2001/XMLSchema-instance" '
    rb'xmlns:xsd="http://www\.w3\.org/2001/XMLSchema"><soap:Body>'
    rb'<(SendSms|GetDeliveries)Response xmlns="http://tempuri\.org/">(.*)'
    rb"</\1Response></soap:Body></soap:Envelope>",
    re.DOTALL,
)
_SEND_SMS: Final = re.compile(
    rb"<SendSmsResult>(-?[0-9]+)</SendSmsResult>"
    rb"(?:<recId>((?:<long>[0-9]+</long>)*)</recId><status>([A-Za-z0-9+/=]*)</status>)?"
)
_DELIVERIES: Final = re.compile(
    rb"<GetDeliveriesResult>((?:<int>-?[0-9]+</int>)*)</GetDeliveriesResult>"
)
_ITEM: Final = re.compile(r">(-?[0-9]+)<")


def _canonical(content: bytes, operation: str) -> Reply | None:
    whole = _CANONICAL.fullmatch(content)
    if whole is None or whole.group(1).decode() != operation:
        return None
    inner = whole.group(2)
    if operation == "SendSms":
        fields = _SEND_SMS.fullmatch(inner)
        if fields is None:
            return None
        code, ids, status = fields.groups()
        texts = {"SendSmsResult": code.decode()}
        lists: dict[str, list[str]] = {"SendSmsResult": []}
        if ids is not None:
            texts.update(recId="", status=status.decode())
            lists.update(recId=_ITEM.findall(ids.decode("ascii")), status=[])
        return Reply(texts, lists)
    fields = _DELIVERIES.fullmatch(inner)
    if fields is None:
        return None
    values = _ITEM.findall(fields.group(1).decode("ascii"))
    return Reply({"GetDeliveriesResult": ""}, {"GetDeliveriesResult": values})


def parse_reply(content: bytes, operation: str) -> Reply:
    """The response element of ``operation``; :class:`Fault` for a SOAP Fault.

    :raises Malformed: not XML, a DTD, not a SOAP 1.1 envelope, or another element.
    """
    fast = _canonical(content, operation)
    if fast is not None:
        return fast
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
    return Reply.of(first)
