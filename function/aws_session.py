"""One botocore session per process, so every AWS client the function makes shares its models and credentials.

botocore rather than boto3: the clients are the same, and the import skips
boto3's resource layer and s3transfer, which the function never uses.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import botocore.session
from botocore.config import Config

# botocore's signer logs the canonical request at DEBUG, and it holds the session token.
if logging.getLogger("botocore.auth").level == logging.NOTSET:
    logging.getLogger("botocore.auth").setLevel(logging.INFO)

_session: botocore.session.Session | None = None
_lock = threading.Lock()


def shared_session() -> botocore.session.Session:
    """The process's session; its credentials come from botocore's chain, resolved once and refreshed by it."""
    global _session
    with _lock:
        if _session is None:
            _session = botocore.session.get_session()
        return _session


def aws_client(
    service: str, region: str | None, config: Config, session: botocore.session.Session | None = None, **options: Any
) -> Any:
    """A client from ``session``, by default the shared one; ``options`` go to ``create_client``. One at a time."""
    chosen = session or shared_session()
    with _lock:
        return chosen.create_client(service, region_name=region, config=config, **options)
