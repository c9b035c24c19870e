"""A local SMS inbox: every message your application sent, in the browser, as a phone shows it.

``smsbridge inbox`` serves the page and its REST API (see docs/inbox.md). Senders reach it
through the shared store: ``Client("fake://?inbox=PATH")`` writes every attempt there and
obeys the chaos armed in the inbox; an emulator reports through a :class:`Reporter`
(:class:`StoreReporter` in-process, :class:`HttpReporter` over HTTP).

>>> import tempfile, pathlib
>>> from smsbridge import Client
>>> from smsbridge.inbox import InboxStore
>>> path = pathlib.Path(tempfile.mkdtemp()) / "inbox.sqlite"
>>> Client(f"fake://?inbox={path}").send("Your code is 4821", ["09123456789"]).accepted
1
>>> InboxStore(path).latest("+989123456789").text
'Your code is 4821'
"""

from smsbridge.inbox._bridge import Attempt, EmulatorBridge
from smsbridge.inbox._model import (
    CHAOS_CATEGORIES,
    ChaosFault,
    ChaosRule,
    InboxError,
    InboxMessage,
    MessageStatus,
)
from smsbridge.inbox._reporter import HttpReporter, Reporter, SentRecord, StoreReporter
from smsbridge.inbox._server import DEFAULT_PORT, HostedService, InboxServer
from smsbridge.inbox._store import ENV_INBOX, InboxStore, default_store_path, open_store

__all__ = [
    "CHAOS_CATEGORIES",
    "DEFAULT_PORT",
    "ENV_INBOX",
    "Attempt",
    "ChaosFault",
    "ChaosRule",
    "EmulatorBridge",
    "HostedService",
    "HttpReporter",
    "InboxError",
    "InboxMessage",
    "InboxServer",
    "InboxStore",
    "MessageStatus",
    "Reporter",
    "SentRecord",
    "StoreReporter",
    "default_store_path",
    "open_store",
]
