"""Bad config in Pulumi's idiom: one line naming the value as the user wrote it, no Python traceback.

The plain modules raise ``ConfigError`` with the stack key (``extraOrigins[0]``);
this module says where that value came from before Pulumi prints it: the
stack key in the namespace ``read_stack_config`` read, ``values[...]`` of a
``load_settings`` call, or the ``OAuthExchangeArgs`` field. A
``pulumi.RunError`` is what the CLI reports as its message alone.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi

from oauth_exchange import settings as plain_settings
from oauth_exchange import site_settings as plain_site_settings
from oauth_exchange.settings import ConfigError, Settings
from oauth_exchange.site_settings import SiteSettings

_PART = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


class StackConfigError(ConfigError, pulumi.RunError):
    """A ``ConfigError`` that Pulumi reports as its one-line message, without a Python traceback."""

    def __init__(self, error: ConfigError, where: str | None = None) -> None:
        ValueError.__init__(self, str(error) if where is None else f"{where}: {error.problem}")
        self.key = error.key
        self.problem = error.problem


@contextlib.contextmanager
def reported(where: Callable[[str], str]) -> Iterator[None]:
    """Re-raise a ``ConfigError`` as ``StackConfigError``, its key rendered by ``where``."""
    try:
        yield
    except StackConfigError:
        raise
    except ConfigError as error:
        raise StackConfigError(error, where(error.key)) from None


def stack_key(namespace: str) -> Callable[[str], str]:
    """``extraOrigins[0]`` as ``<namespace>:extraOrigins[0]``; a key of another namespace (``aws:region``) as it is."""
    return lambda key: key if ":" in key else f"{namespace}:{key}"


def _parts(key: str) -> list[tuple[str, str]]:
    return [(match[1], match[2]) for match in _PART.finditer(key)]


def values_path(function: str) -> Callable[[str], str]:
    """``providers.github.clientId`` as ``load_settings values["providers"]["github"]["clientId"]``."""

    def where(key: str) -> str:
        parts = _parts(key)
        if parts and parts[0][0] == "clientSecrets":
            return f"{function} secret_names"
        return f"{function} values" + "".join(f'["{name}"]{index}' for name, index in parts)

    return where


def argument_path(root: str) -> Callable[[str], str]:
    """``extraOrigins[0]`` as ``<root>.extra_origins[0]``: the Python attribute the value lives in."""

    def where(key: str) -> str:
        return root + "".join(f".{re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()}{index}" for name, index in _parts(key))

    return where


def load_settings(values: Mapping[str, Any], secret_names: Collection[str]) -> Settings:
    """``settings.load_settings`` for a Pulumi program: a bad value stops it as one line naming ``values[...]``."""
    with reported(values_path("load_settings")):
        return plain_settings.load_settings(values, secret_names)


def load_site_settings(values: Mapping[str, Any], settings: Settings, base_dir: Path) -> SiteSettings:
    """``site_settings.load_site_settings``, reported the same way."""
    with reported(values_path("load_site_settings")):
        return plain_site_settings.load_site_settings(values, settings, base_dir)


class MissingOutputError(pulumi.RunError):
    """An output the component builds on resolved empty: what mocks that echo their inputs give."""


def required(output: pulumi.Output[Any], name: str, mock_method: str = "new_resource") -> pulumi.Output[str]:
    """``output``, checked to be a non-empty string once known, else an error naming it (never ``https://none/``).

    ``mock_method`` is the ``pulumi.runtime.Mocks`` method that gives it under mocks.
    """

    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise MissingOutputError(
                f"{name} came back empty ({value!r}), and the component builds on it; under Pulumi's mocks, "
                f"return it from {mock_method}, as oauth_exchange.testing.Mocks does"
            )
        return value

    return output.apply(check)
