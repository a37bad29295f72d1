"""Fixtures that deploy the program under mocks; the machinery is in ``stack_mocks``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.stack_mocks import SECRETS_KEY, Deployment, dev_config, run_program


def pytest_configure(config: pytest.Config) -> None:
    """pulumi_aws warns about its own deprecated modules when they load; that is not the program's doing."""
    config.addinivalue_line("filterwarnings", r"ignore::DeprecationWarning:pulumi_aws\..*")


@pytest.fixture(scope="session")
def deploy() -> Callable[..., Deployment]:
    """``deploy(**overrides)``: the dev stack's resources with some config changed.

    ``secret_keys=()`` hands every value to the program as plaintext config.
    """

    def deploy_with(secret_keys: tuple[str, ...] = (SECRETS_KEY,), **overrides: Any) -> Deployment:
        return run_program(dev_config(**overrides), secret_keys)

    return deploy_with


@pytest.fixture(scope="session")
def dev(deploy: Callable[..., Deployment]) -> Deployment:
    """The committed dev stack, deployed once per session and shared by the read-only tests."""
    return deploy()
