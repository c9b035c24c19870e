"""smsbridge benchmark: every figure measured side by side with its baseline, in one run.

    python bench/run.py            # all four; about a minute on 2 cores
    python bench/run.py overhead bulk

The Melipayamak emulator runs in its own process on 127.0.0.1 (as a real service would), so
client and server each have a core. Times on a shared machine drift, so each comparison
interleaves its two sides and reports medians; the ratios are what to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ACCOUNT = ("demo", "demo-password")
SENDER = "50004001234567"
# Melipayamak refuses a send to several numbers without its opt-out wording (code 15).
CAMPAIGN = "Sale starts tomorrow. لغو11"
TARGETS = {
    "overhead": "<= 1.10x raw zeep",
    "bulk": ">= 300x the naive loop, 10,000 accepted in <= 1.5 s",
    "startup": "<= 150 ms over bare python",
    "memory": "<= 1.5x",
    "emulator": "no ~40 ms Nagle stall per keep-alive request",
}


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    """The emulator in a child process; yields its SOAP URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smsbridge_melipayamak.emulator",
            "--port",
            "0",
            "--credit",
            "1e12",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split()[-1]
        if not url.startswith("http"):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def numbers(count: int, start: int = 1_000_000) -> list[str]:
    return [f"0912{start + i:07d}" for i in range(count)]


def smsbridge_url(endpoint: str, **params: object) -> str:
    extra = "".join(f"&{key}={value}" for key, value in params.items())
    return f"melipayamak://{ACCOUNT[0]}:{ACCOUNT[1]}@/?from={SENDER}&endpoint={endpoint}{extra}"


def report(name: str, lines: list[str]) -> None:
    print(f"\n== {name}  (target: {TARGETS[name]})")
    for line in lines:
        print("   " + line)


def median_interleaved(*calls: Callable[[], object], rounds: int) -> list[float]:
    """Median seconds of each call, run in turn every round so drift hits all alike.

    The order rotates from round to round, so no call always follows the same one.
    """
    times: list[list[float]] = [[] for _ in calls]
    order = list(range(len(calls)))
    for round_ in range(rounds):
        for index in order[round_ % len(order) :] + order[: round_ % len(order)]:
            started = time.perf_counter()
            calls[index]()
            times[index].append(time.perf_counter() - started)
    return [statistics.median(spent) for spent in times]


def _raw_service(endpoint: str, *, read_env_once: bool) -> object:
    import requests
    import zeep
    from smsbridge_melipayamak._soap_client import SERVICE_BINDING, wsdl_path

    session = requests.Session()
    if read_env_once:
        # What the provider does: proxy/CA settings read once, not on every request.
        session.trust_env = False
    transport = zeep.Transport(session=session)
    return zeep.Client(wsdl_path(), transport=transport).create_service(SERVICE_BINDING, endpoint)


def bench_overhead(endpoint: str) -> None:
    """One smsbridge send to one recipient against one raw zeep SendSms call."""
    from smsbridge import Client

    raw = _raw_service(endpoint, read_env_once=False)
    tuned = _raw_service(endpoint, read_env_once=True)
    client = Client(smsbridge_url(endpoint))

    def call(service: object) -> Callable[[], None]:
        def run() -> None:
            reply = service.SendSms(  # type: ignore[attr-defined]
                username=ACCOUNT[0],
                password=ACCOUNT[1],
                to={"string": ["09121234567"]},
                **{"from": SENDER},
                text="Your code is 1234",
                isflash=False,
                udh="",
            )
            assert reply.SendSmsResult == 1

        return run

    def bridged() -> None:
        assert client.send("Your code is 1234", "09121234567").all_accepted

    raw_call, tuned_call = call(raw), call(tuned)
    for _ in range(20):  # warm all three: connections, zeep's caches, phonenumbers metadata
        raw_call()
        tuned_call()
        bridged()
    raw_s, tuned_s, bridged_s = median_interleaved(raw_call, tuned_call, bridged, rounds=500)
    client.close()
    report(
        "overhead",
        [
            "medians of 500 rounds, the three calls in turn (rotating order) each round:",
            f"raw zeep SendSms, prebuilt client (zeep defaults): {raw_s * 1000:.3f} ms",
            f"raw zeep, environment read once (as the provider does): {tuned_s * 1000:.3f} ms",
            f"smsbridge Client.send (melipayamak provider): {bridged_s * 1000:.3f} ms",
            f"ratio to raw zeep: {bridged_s / raw_s:.3f}x",
            f"ratio to the tuned raw zeep (smsbridge's own cost): {bridged_s / tuned_s:.3f}x",
        ],
    )


REFERENCE_WSDL = (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "melipayamak" / "Send.asmx.wsdl"
)
_SOAPENC_STUB = b"""<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           targetNamespace="http://schemas.xmlsoap.org/soap/encoding/">
  <xs:complexType name="Array">
    <xs:sequence><xs:any minOccurs="0" maxOccurs="unbounded" processContents="lax"/></xs:sequence>
    <xs:anyAttribute processContents="lax"/>
  </xs:complexType>
  <xs:attribute name="arrayType" type="xs:string"/>
</xs:schema>"""


def _real_wsdl_client_factory(endpoint: str) -> Callable[[], object] | None:
    """The official SDK's per-call client, but with the real 18-operation WSDL read from disk.

    The live service serves that WSDL (69 KB); our emulator serves a 4-operation one, so a naive
    loop against the emulator parses far less than the SDK really does. When the reference copy
    is present (next to the repository), this measures the real shape. Its soap-encoding import
    is served from a stub, as official_sdk.md describes, so nothing leaves the machine.
    """
    if not REFERENCE_WSDL.is_file():
        return None
    import zeep
    from smsbridge_melipayamak._soap_client import SERVICE_BINDING

    class OfflineTransport(zeep.Transport):  # type: ignore[misc]
        def load(self, url: str) -> bytes:
            if url.startswith("http://schemas.xmlsoap.org/soap/encoding"):
                return _SOAPENC_STUB
            return super().load(url)  # type: ignore[no-any-return]

    def build() -> object:
        client = zeep.Client(str(REFERENCE_WSDL), transport=OfflineTransport())
        return client.create_service(SERVICE_BINDING, endpoint)

    return build


def bench_bulk(endpoint: str, wsdl_url: str) -> None:
    """10,000 recipients through smsbridge against the official SDK's one-by-one loop."""
    import zeep

    from smsbridge import Client

    sample = numbers(200, start=5_000_000)

    def send_one(service: object, number: str) -> None:
        service.SendSms(  # type: ignore[attr-defined]
            username=ACCOUNT[0],
            password=ACCOUNT[1],
            to={"string": [number]},
            **{"from": SENDER},
            text=CAMPAIGN,
            isflash=False,
            udh="",
        )

    def naive_real_wsdl(build: Callable[[], object]) -> float:
        started = time.perf_counter()
        for number in sample:
            send_one(build(), number)
        return time.perf_counter() - started

    def naive() -> None:
        # What the official SDK does per call: a new zeep.Client from the WSDL URL, then one
        # recipient per SendSms.
        for number in sample:
            send_one(zeep.Client(wsdl_url).service, number)

    started = time.perf_counter()
    naive()
    naive_s = time.perf_counter() - started
    naive_rate = len(sample) / naive_s
    build_real = _real_wsdl_client_factory(endpoint)
    real_s = naive_real_wsdl(build_real) if build_real is not None else None

    recipients = numbers(10_000)
    walls = []
    for round_ in range(3):
        client = Client(smsbridge_url(endpoint, concurrency=4))

        async def run(client: Client = client) -> int:
            async with client:
                report_ = await client.asend(CAMPAIGN, recipients)
            return report_.accepted

        started = time.perf_counter()
        accepted = asyncio.run(run())
        walls.append(time.perf_counter() - started)
        assert accepted == 10_000, accepted
        del round_
    wall = statistics.median(walls)
    rate = 10_000 / wall
    report(
        "bulk",
        [
            f"naive loop (zeep.Client per call, 1 recipient per call): {len(sample)} in "
            f"{naive_s:.2f} s = {naive_s / len(sample) * 1000:.1f} ms per recipient, "
            f"{naive_rate:.0f}/s",
            f"smsbridge asend, 100 per request, concurrency 4: 10,000 accepted in "
            f"{wall:.3f} s (median of {len(walls)}: {', '.join(f'{w:.3f}' for w in walls)}) "
            f"= {rate:.0f}/s",
            f"ratio: {rate / naive_rate:.0f}x the naive loop's recipients per second "
            "(against the emulator's small WSDL)",
        ]
        + (
            [
                f"naive loop parsing the real 18-operation WSDL per call, as the SDK does: "
                f"{real_s / len(sample) * 1000:.1f} ms per recipient",
                f"ratio: {rate / (len(sample) / real_s):.0f}x the SDK-shaped loop",
            ]
            if real_s is not None
            else ["(reference WSDL not found beside the repository: SDK-shaped loop skipped)"]
        ),
    )


def bench_startup() -> None:
    """``import smsbridge`` and ``smsbridge --help`` against a bare interpreter."""
    script = shutil.which("smsbridge", path=str(Path(sys.executable).parent))
    commands = {
        "bare python": [sys.executable, "-c", "pass"],
        "import smsbridge": [sys.executable, "-c", "import smsbridge"],
        "smsbridge --help": [script or "smsbridge", "--help"],
    }
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, smsbridge.cli; "
            "print(sorted(m for m in ('zeep', 'lxml', 'phonenumbers', 'structlog') "
            "if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(15):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    bare = medians["bare python"]
    report(
        "startup",
        [
            f"{name}: {value * 1000:.1f} ms (+{(value - bare) * 1000:.1f} ms)"
            for name, value in medians.items()
        ]
        + [f"heavy modules loaded by `import smsbridge.cli`: {loaded or 'none'}"],
    )


_MEMORY_CHILD = """
import logging, resource, sys
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
from smsbridge import Client
count, url = int(sys.argv[1]), sys.argv[2]
with Client(url) as client:
    summary = client.send_bulk(
        "Sale starts tomorrow. \u0644\u063a\u064811",
        (f"0912{1_000_000 + i:07d}" for i in range(count)),
        report=sys.argv[3],
    )
assert summary.totals.accepted == count, summary.totals
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_memory(endpoint: str, scratch: Path) -> None:
    """Peak RSS of a 200,000-recipient streamed send against a 2,000 one."""

    def peak_kib(count: int) -> int:
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                _MEMORY_CHILD,
                str(count),
                smsbridge_url(endpoint),
                str(scratch / f"report-{count}.jsonl"),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.split()[-1])

    small = peak_kib(2_000)
    started = time.perf_counter()
    large = peak_kib(200_000)
    large_s = time.perf_counter() - started
    report(
        "memory",
        [
            f"2,000 recipients:   peak RSS {small / 1024:.1f} MiB",
            f"200,000 recipients: peak RSS {large / 1024:.1f} MiB ({large_s:.1f} s)",
            f"ratio: {large / small:.2f}x",
        ],
    )


def bench_emulator(endpoint: str) -> None:
    """Sequential keep-alive SendSms requests of 100 recipients, by hand, to the emulator."""
    import http.client
    from urllib.parse import urlsplit

    to = "".join(f"<string>{n}</string>" for n in numbers(100))
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<SendSms xmlns="http://tempuri.org/"><username>{ACCOUNT[0]}</username>'
        f"<password>{ACCOUNT[1]}</password><to>{to}</to><from>{SENDER}</from>"
        f"<text>{CAMPAIGN}</text><isflash>false</isflash><udh></udh></SendSms>"
        "</soap:Body></soap:Envelope>"
    ).encode()
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port)
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"http://tempuri.org/SendSms"',
    }
    spent = []
    for _ in range(200):
        started = time.perf_counter()
        connection.request("POST", parts.path, body, headers)
        reply = connection.getresponse().read()
        spent.append(time.perf_counter() - started)
        assert b"<SendSmsResult>1</SendSmsResult>" in reply
    connection.close()
    report(
        "emulator",
        [
            "200 keep-alive requests of 100 recipients: "
            f"median {statistics.median(spent) * 1000:.2f} ms, "
            f"slowest {max(spent) * 1000:.2f} ms (a Nagle stall would show ~40 ms each)",
        ],
    )


def main(argv: list[str]) -> int:
    import logging

    import structlog

    # As a production application would: library events at INFO are filtered out cheaply.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    wanted = argv or list(TARGETS)
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} cores")
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        if "startup" in wanted:
            bench_startup()
        if {"overhead", "bulk", "memory", "emulator"} & set(wanted):
            with emulator() as endpoint:
                if "overhead" in wanted:
                    bench_overhead(endpoint)
            with emulator() as endpoint:
                if "bulk" in wanted:
                    bench_bulk(endpoint, endpoint + "?wsdl")
            with emulator() as endpoint:
                if "emulator" in wanted:
                    bench_emulator(endpoint)
            with emulator() as endpoint:
                if "memory" in wanted:
                    bench_memory(endpoint, Path(scratch))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
