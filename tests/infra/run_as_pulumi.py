"""Run a Pulumi program the way ``pulumi up`` runs it, against the mocks instead of an engine.

    PULUMI_CONFIG='{"oauth-exchange:...": "..."}' PULUMI_CONFIG_SECRET_KEYS='[...]' \
        python3 tests/infra/run_as_pulumi.py PROGRAM [PROJECT]

This is what the CLI's Python language host (``pulumi-language-python-exec``)
does: config from those two variables, the program run with ``runpy`` inside
``run_in_stack``, a ``pulumi.RunError`` reported as its message alone and any
other exception as its traceback, exit status 1 on failure. Diagnostics go to
stderr as the CLI shows them (``error: <message>``); on success the stack
outputs are printed to stdout as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import logging
import runpy
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(1, str(ROOT))  # for tests.infra.stack_mocks
sys.path.append(str(ROOT / "infra"))  # for its oauth_exchange.testing; a program puts its own copy first

import pulumi  # noqa: E402
from pulumi.runtime import rpc  # noqa: E402
from pulumi.runtime.mocks import MockMonitor  # noqa: E402

from oauth_exchange.testing import Mocks  # noqa: E402
from tests.infra.stack_mocks import PROJECT, STACK, unwrap  # noqa: E402


class _StackOutputsMonitor(MockMonitor):
    """The mock monitor, keeping the outputs the program registers on its stack."""

    outputs: dict | None = None

    def RegisterResourceOutputs(self, request):  # noqa: N802 - the gRPC method name
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.outputs = unwrap(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


class _CliFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def main(program: str, project: str = PROJECT) -> int:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())
    diagnostics = logging.getLogger("pulumi-cli")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CliFormatter())
    diagnostics.addHandler(handler)
    diagnostics.setLevel(logging.INFO)
    diagnostics.propagate = False
    region = pulumi.runtime.get_config("aws:region") or "us-east-1"
    mocks = Mocks(region)
    monitor = _StackOutputsMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=STACK, preview=False, logger=diagnostics, monitor=monitor)
    pulumi.runtime.settings.set_root_resource(None)  # set_mocks made a stack; run_in_stack makes the program's
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    sys.argv = [program]
    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(lambda: runpy.run_path(program, run_name="__main__")))
    except pulumi.RunError as error:
        pulumi.log.error(str(error))
        return 1
    except Exception:
        pulumi.log.error(traceback.format_exc())
        return 1
    finally:
        loop.close()
    print(json.dumps(monitor.outputs or {}, sort_keys=True))
    return 0


if __name__ == "__main__":
    code = main(*sys.argv[1:3])
    sys.stdout.flush()
    sys.stderr.flush()
    # The CLI only reads what the program printed; skip interpreter teardown, whose garbage collection of
    # the SDK's own event loops can print "Exception ignored" noise that is no part of the program's output.
    os._exit(code)
