"""A Pulumi stack settings file (``Pulumi.<stack>.yaml``) read as the local stack's configuration.

The same file that configures a deployment configures a local run, so a
custom provider, extra origins or a callback path are tried locally exactly as
they will be deployed. Only the project's own keys (``oauth-exchange:*``) and
``aws:region`` are taken; ``local.__main__`` validates them with the
program's own ``load_stack_values``. Encrypted values cannot be decrypted
without Pulumi: of the client secrets only the names are kept (a local run
takes the values from the environment), and any other encrypted value is
refused, naming its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from oauth_exchange.settings import NAMESPACE
from oauth_exchange.stack_values import SECRETS_KEY, malformed_secrets_error, plaintext_secrets_error


class StackFileError(ValueError):
    """The file cannot be used; the message names the file and, when it is one key, that key."""


@dataclass(frozen=True)
class StackFile:
    path: Path
    values: dict[str, Any]
    """The ``oauth-exchange:`` keys without the namespace, ``clientSecrets`` left out."""
    secret_names: frozenset[str] | None = frozenset()
    """The providers ``clientSecrets`` has an encrypted secret for; None when the whole object is one ciphertext."""
    region: str | None = None
    """``aws:region``, which the program checks too."""

    @property
    def project_dir(self) -> Path:
        """What a relative ``siteDir`` is relative to, as when Pulumi runs the program."""
        return self.path.parent


def _secret_names(value: Any) -> frozenset[str] | None:
    """The names under ``clientSecrets``, refused as the program refuses them when not encrypted."""
    if _is_encrypted(value):
        return None
    if not isinstance(value, Mapping):
        raise malformed_secrets_error()
    if not all(_is_encrypted(item) for item in value.values() if item not in (None, "")):
        raise plaintext_secrets_error()
    return frozenset(name for name, item in value.items() if _is_encrypted(item))


def _is_encrypted(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"secure"}


def _encrypted_key(value: Any, key: str) -> str | None:
    """The path of the first encrypted value inside ``value``, or None."""
    if isinstance(value, Mapping):
        if _is_encrypted(value):
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
    secret_names: frozenset[str] | None = frozenset()
    prefix = NAMESPACE + ":"
    for full_key, value in config.items():
        if not isinstance(full_key, str) or not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key == SECRETS_KEY:
            secret_names = _secret_names(value)
            continue
        encrypted = _encrypted_key(value, full_key)
        if encrypted:
            raise StackFileError(f"{path}: {encrypted} is encrypted, and a local run cannot decrypt Pulumi secrets")
        values[key] = value
    region = config.get("aws:region")
    return StackFile(path=path.resolve(), values=values, secret_names=secret_names, region=None if region is None else str(region))
