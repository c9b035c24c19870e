"""The floor: the least a client can do to send a campaign to the emulator.

Raw asyncio sockets, one prebuilt SendSms envelope of 100 recipients, keep-alive, a fixed
number of connections sending in parallel. It parses nothing but the HTTP framing (to know
where a reply ends) and checks the return code, so nothing a real client must do is left out
of smsbridge's side of the comparison but left in here. Not smsbridge code: written for the
benchmark only.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

ACCOUNT = ("demo", "demo-password")
SENDER = "50004001234567"


def envelope(numbers: list[str], text: str) -> bytes:
    to = "".join(f"<string>{n}</string>" for n in numbers)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<SendSms xmlns="http://tempuri.org/"><username>{ACCOUNT[0]}</username>'
        f"<password>{ACCOUNT[1]}</password><to>{to}</to><from>{SENDER}</from>"
        f"<text>{text}</text><isflash>false</isflash><udh></udh></SendSms>"
        "</soap:Body></soap:Envelope>"
    ).encode()


async def send_all(endpoint: str, requests: int, concurrency: int, body: bytes) -> None:
    """``requests`` POSTs of ``body`` over ``concurrency`` keep-alive connections."""
    parts = urlsplit(endpoint)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: text/xml; charset=utf-8\r\n"
        'SOAPAction: "http://tempuri.org/SendSms"\r\n'
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    message = head + body
    remaining = [requests]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        while remaining[0] > 0:
            remaining[0] -= 1
            writer.write(message)
            reply_head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in reply_head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            reply = await reader.readexactly(length)
            if b"<SendSmsResult>1</SendSmsResult>" not in reply:
                raise RuntimeError("the emulator refused a floor request")
        writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
