"""Runs the real ``__main__.py`` under Pulumi mocks and records what it would deploy.

Config comes from where ``pulumi up`` gets it: the defaults in ``Pulumi.yaml``,
the committed ``Pulumi.dev.yaml``, and a client secret set as a secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import runpy
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from oauth_exchange.testing import (  # noqa: F401 - the values tests compare with
    ACCOUNT_ID,
    AUTONAME_SUFFIX,
    CERTIFICATE_ID,
    CLOUDFRONT_ZONE_ID,
    DISTRIBUTION_DOMAIN,
    DISTRIBUTION_ID,
    FUNCTION_URL_ID,
    random_password,
)
from oauth_exchange.testing import Mocks

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "__main__.py"
PROJECT = "oauth-exchange"
STACK = "dev"
TEST_SECRET = "gh-client-secret-0123456789abcdef"
TEST_CLIENT_ID = "Ov23liTestClient0123"
"""Stands in for the committed placeholder, which the program refuses."""
SECRETS_KEY = f"{PROJECT}:clientSecrets"


def config_text(value: Any) -> str:
    """A config value as Pulumi hands it to the program: objects as JSON, scalars as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def project_defaults() -> dict[str, str]:
    """The defaults ``Pulumi.yaml`` declares, as full config keys."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    return {
        f"{PROJECT}:{key}": config_text(entry["default"])
        for key, entry in project["config"].items()
        if "default" in entry
    }


def committed_config() -> dict[str, str]:
    """``Pulumi.yaml`` defaults overlaid with ``Pulumi.dev.yaml``, as the CLI merges them."""
    values = project_defaults()
    stack = yaml.safe_load((ROOT / f"Pulumi.{STACK}.yaml").read_text())
    values.update({key: config_text(value) for key, value in stack["config"].items()})
    return values


def dev_config(**overrides: Any) -> dict[str, str]:
    """The dev stack with a client id and a GitHub client secret; ``overrides`` set (or, with None, remove) keys."""
    values = committed_config() | {SECRETS_KEY: config_text({"github": TEST_SECRET})}
    providers = json.loads(values[f"{PROJECT}:providers"])
    providers["github"]["clientId"] = TEST_CLIENT_ID
    values[f"{PROJECT}:providers"] = config_text(providers)
    for key, value in overrides.items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            values.pop(full_key, None)
        else:
            values[full_key] = config_text(value)
    return values


@dataclass
class Resource:
    type: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    """URNs this resource waits for (``depends_on`` and the resources its inputs come from)."""
    provider: str = ""
    """The explicit provider reference, when the resource has one."""

    @property
    def plain_inputs(self) -> dict[str, Any]:
        return unwrap(self.inputs)


@dataclass
class Deployment:
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, tuple[Any, bool]] = field(default_factory=dict)
    """Stack output name to ``(value, is_secret)``."""
    logs: list[str] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        return next(r for r in self.resources if r.urn == urn)


def function_config_text(deployment: Deployment) -> str:
    """The function's configuration as deployed: the file in its zip that its environment names."""
    # Not importable where run_as_pulumi loads this module.
    from oauth_exchange.function_config import FUNCTION_CONFIG_FILE_ENV

    function = deployment.one("aws:lambda/function:Function").plain_inputs
    name = function["environment"]["variables"][FUNCTION_CONFIG_FILE_ENV]
    with zipfile.ZipFile(function["code"].path) as archive:
        return archive.read(name).decode("utf-8")


def function_config(deployment: Deployment) -> dict:
    return json.loads(function_config_text(deployment))


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def unwrap(value: Any) -> Any:
    """Inputs with Pulumi's secret markers removed."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def plain_parts(value: Any) -> Iterator[Any]:
    """Every leaf of an input that is not marked secret."""
    if is_secret(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from plain_parts(item)
    elif isinstance(value, list):
        for item in value:
            yield from plain_parts(item)
    else:
        yield value


class RecordingMonitor(MockMonitor):
    """The mock monitor, also remembering each resource's inputs and actual parent."""

    def __init__(self, mocks: Mocks, deployment: Deployment) -> None:
        super().__init__(mocks)
        self.deployment = deployment

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.deployment.resources.append(
                Resource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                    dependencies=list(request.dependencies),
                    provider=request.provider,
                )
            )
        return response


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


def run_program(
    config: dict[str, str], secret_keys: tuple[str, ...] = (SECRETS_KEY,), program: Path = MAIN
) -> Deployment:
    """Run ``program`` (this repository's ``__main__.py``) once with ``config``; raises what it raises."""
    deployment = Deployment()
    region = config.get("aws:region", "us-east-1")
    mocks = Mocks(region)
    logger = logging.getLogger(f"pulumi-mocks-{id(deployment)}")
    logger.addHandler(_ListHandler(deployment.logs))
    logger.propagate = False
    pulumi.runtime.settings.reset_options(project=PROJECT, stack=STACK, preview=False)
    pulumi.runtime.set_mocks(
        mocks,
        project=PROJECT,
        stack=STACK,
        preview=False,
        logger=logger,
        monitor=RecordingMonitor(mocks, deployment),
    )
    pulumi.runtime.set_all_config(config, list(secret_keys))

    @pulumi.runtime.test
    def run() -> Any:
        runpy.run_path(str(program), run_name="__main__")
        root = pulumi.runtime.settings.get_root_resource()

        async def resolve_outputs() -> None:
            for name, value in root.outputs.items():
                output = pulumi.Output.from_input(value)
                deployment.outputs[name] = (await output.future(), await output.is_secret())

        return asyncio.ensure_future(resolve_outputs())

    run()
    return deployment

