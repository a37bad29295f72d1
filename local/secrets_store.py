"""Secrets Manager for the local stack: moto's ThreadedMotoServer, in a process of its own.

moto keeps its state in module globals shared by every moto user in a
process, and ``mock_aws`` resets that state when it starts; a test elsewhere
in the same pytest run would wipe the local stack's secret. Its own process
keeps the store intact and its memory contained. The handler reaches it
through boto3 and ``AWS_ENDPOINT_URL_SECRETS_MANAGER``, as on AWS.
"""

from __future__ import annotations

import errno
import json
import select
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

LOOPBACK = "127.0.0.1"

REGION = "us-east-1"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0


def secret_variable(provider: str) -> str:
    """The environment variable holding a provider's client secret for a local run: OAUTH_CLIENT_SECRET_<NAME>."""
    return "OAUTH_CLIENT_SECRET_" + provider.upper().replace("-", "_")


def client(endpoint: str, service: str) -> Any:
    """A boto3 client of the moto server at ``endpoint``, with the dummy credentials it accepts."""
    return boto3.session.Session().client(service, endpoint_url=endpoint, region_name=REGION, **DUMMY_CREDENTIALS)


class SecretsStore:
    """A moto server on 127.0.0.1 (``port``, 0: a free one); stop it with ``stop()``.

    ``verbose`` lets moto's server log each request it answers (to stderr).
    """

    def __init__(self, verbose: bool = False, port: int = 0) -> None:
        if port:
            _refuse_taken(port)
        self._process = subprocess.Popen(
            [sys.executable, "-B", str(Path(__file__).resolve()), str(port), *(["--verbose"] if verbose else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a terminal Ctrl-C reaches only the stack, which stops its children
        )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], START_TIMEOUT_SECONDS)
        line = self._process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise RuntimeError("moto's server did not start")
        self.endpoint = f"http://127.0.0.1:{json.loads(line)['port']}"
        self._client = client(self.endpoint, "secretsmanager")

    @property
    def pid(self) -> int:
        return self._process.pid

    def create_secret(self, name: str, value: str) -> str:
        """Create a secret; returns its ARN."""
        return self._client.create_secret(Name=name, SecretString=value)["ARN"]

    def put_secret_value(self, arn: str, value: str) -> None:
        self._client.put_secret_value(SecretId=arn, SecretString=value)

    def get_secret_value(self, arn: str) -> str:
        return self._client.get_secret_value(SecretId=arn)["SecretString"]

    def client(self, service: str) -> Any:
        """A boto3 client for another service moto serves (session mode's DynamoDB)."""
        return client(self.endpoint, service)

    def stop(self) -> None:
        """Close moto's stdin: it stops its server and exits."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


def _refuse_taken(port: int) -> None:
    """moto's server thread would only log a taken port; say so before starting it."""
    from local.http_server import PortInUse  # here: the child runs this file as a script, outside the package

    with socket.socket() as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse("moto", port) from None
            raise


def _serve(port: int, verbose: bool) -> None:
    """The child: serve until the parent closes stdin (or dies); stdout carries only the port."""
    import logging
    import os

    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    from moto.server import ThreadedMotoServer

    logging.basicConfig(format="moto     %(message)s", level=logging.INFO if verbose else logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.ERROR)
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=verbose)
    server.start()
    print(json.dumps({"port": server.get_host_and_port()[1]}), file=channel, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), "--verbose" in sys.argv[2:])
