"""Secrets Manager for the local stack: moto's ThreadedMotoServer, in a process of its own.

moto keeps its state in module globals shared by every moto user in a
process, and ``mock_aws`` resets that state when it starts; a test elsewhere
in the same pytest run would wipe the local stack's secret. Its own process
keeps the store intact and its memory contained. The handler reaches it
through boto3 and ``AWS_ENDPOINT_URL_SECRETS_MANAGER``, as on AWS.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0


class SecretsStore:
    """A moto server on 127.0.0.1 (free port); stop it with ``stop()``.

    ``verbose`` lets moto's server log each request it answers (to stderr).
    """

    def __init__(self, verbose: bool = False) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-B", str(Path(__file__).resolve()), *(["--verbose"] if verbose else [])],
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
        self._client = boto3.session.Session().client(
            "secretsmanager", endpoint_url=self.endpoint, region_name=REGION, **DUMMY_CREDENTIALS
        )

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
        return boto3.session.Session().client(service, endpoint_url=self.endpoint, region_name=REGION, **DUMMY_CREDENTIALS)

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


def _serve(verbose: bool) -> None:
    """The child: serve until the parent closes stdin (or dies); stdout carries only the port."""
    import logging
    import os

    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    from moto.server import ThreadedMotoServer

    logging.basicConfig(format="moto     %(message)s", level=logging.INFO if verbose else logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=verbose)
    server.start()
    print(json.dumps({"port": server.get_host_and_port()[1]}), file=channel, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    _serve("--verbose" in sys.argv[1:])
