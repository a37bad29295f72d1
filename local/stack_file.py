"""A Pulumi stack settings file (``Pulumi.<stack>.yaml``) read as the local stack's configuration.

The same file that configures a deployment configures a local run, so a
custom provider, extra origins or a callback path are tried locally exactly as
they will be deployed. Only the project's own keys (``oauth-exchange:*``) are
taken. Encrypted values cannot be decrypted without Pulumi: the client secrets
are skipped (a local run takes them from the environment), and any other
encrypted value is refused, naming its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.settings import NAMESPACE

SECRETS_KEY = "clientSecrets"
SITE_DIR_KEY = "siteDir"


class StackFileError(ValueError):
    """The file cannot be used; the message names the file and, when it is one key, that key."""


@dataclass(frozen=True)
class StackFile:
    path: Path
    values: dict[str, Any]
    """The ``oauth-exchange:`` keys without the namespace, ``clientSecrets`` left out."""

    @property
    def site_dir(self) -> Path | None:
        """``siteDir``, relative to the file's folder (the Pulumi project), as Pulumi would read it."""
        value = self.values.get(SITE_DIR_KEY)
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise StackFileError(f"{self.path}: {NAMESPACE}:{SITE_DIR_KEY} must be a folder path")
        return (self.path.parent / value).resolve()


def _encrypted_key(value: Any, key: str) -> str | None:
    """The path of the first encrypted value inside ``value``, or None."""
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return key
        for name, item in value.items():
            found = _encrypted_key(item, f"{key}.{name}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _encrypted_key(item, f"{key}[{index}]")
            if found:
                return found
    return None


def read_stack_file(path: Path) -> StackFile:
    """Parse the file; raises ``StackFileError`` with a message fit to print as it is."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise StackFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise StackFileError(f"{path}: is not valid YAML{where}") from None
    config = document.get("config") if isinstance(document, Mapping) else None
    if not isinstance(config, Mapping):
        raise StackFileError(f"{path}: has no config: mapping; is it a Pulumi.<stack>.yaml?")
    values: dict[str, Any] = {}
    prefix = NAMESPACE + ":"
    for full_key, value in config.items():
        if not isinstance(full_key, str) or not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key == SECRETS_KEY:
            continue
        encrypted = _encrypted_key(value, full_key)
        if encrypted:
            raise StackFileError(f"{path}: {encrypted} is encrypted, and a local run cannot decrypt Pulumi secrets")
        values[key] = value
    return StackFile(path=path.resolve(), values=values)
