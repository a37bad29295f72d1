"""What ``python3 -m local`` prints: the lines worth reading, and everything with ``--verbose``.

By default a developer sees the function's requests and logs and the fake
provider's requests: what a sign-in does. The site's static-file requests and
the AWS SDK's chatter in the function's logs (``Found credentials in
environment variables.``) only bury that, so they are shown with ``--verbose``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

Log = Callable[[str], None]

SDK_LOGGERS = frozenset({"botocore", "boto3", "s3transfer", "urllib3", "httpx", "httpcore"})
SITE_PREFIX = "site "


def is_chatter(line: str) -> bool:
    """A static-file request line, or a function log record from the SDK's own loggers."""
    if line.startswith(SITE_PREFIX):
        return True
    source, _, record = line.partition(" ")
    if not (source.startswith("function[") and record.startswith("{")):
        return False
    try:
        logger = json.loads(record).get("logger", "")
    except (ValueError, AttributeError):
        return False
    return isinstance(logger, str) and logger.split(".", 1)[0] in SDK_LOGGERS


def console(verbose: bool, write: Callable[[str], None] = print) -> Log:
    """A thread-safe line printer that drops chatter unless ``verbose``."""
    lock = threading.Lock()

    def log(line: str) -> None:
        if not verbose and is_chatter(line):
            return
        with lock:
            write(line)

    return log
