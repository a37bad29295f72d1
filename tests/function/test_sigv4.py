"""The function's SigV4 signatures are botocore's, byte for byte: botocore's signer is the reference."""

from __future__ import annotations

import datetime
import json

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

from sigv4 import Credentials, MissingCredentials, Signer, credentials_from_environment

WHEN = datetime.datetime(2026, 12, 1, 23, 59, 58, tzinfo=datetime.timezone.utc)
BODY = json.dumps({"TableName": "sessions", "Key": {"id": {"S": "ab" * 32}}, "ConsistentRead": True}).encode()
TARGET = {"x-amz-target": "DynamoDB_20120810.GetItem"}


def botocore_authorization(credentials: Credentials, region: str, host: str, path: str, body: bytes, when: datetime.datetime) -> str:
    request = AWSRequest(
        method="POST",
        url=f"https://{host}{path}",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET["x-amz-target"], "Host": host},
    )
    signer = botocore.auth.SigV4Auth(
        BotocoreCredentials(credentials.access_key_id, credentials.secret_access_key, credentials.session_token),
        "dynamodb",
        region,
    )
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: when.replace(tzinfo=None)
    try:
        signer.add_auth(request)
    finally:
        botocore.auth.get_current_datetime = original
    return request.headers["Authorization"]


@pytest.mark.parametrize(
    ("credentials", "region", "host", "path"),
    [
        (Credentials("ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEXAMPLE/+token="), "eu-west-1", "dynamodb.eu-west-1.amazonaws.com", "/"),
        (Credentials("AKIAEXAMPLE", "secret with spaces"), "us-east-1", "dynamodb.us-east-1.amazonaws.com", "/"),
        (Credentials("testing", "testing", "testing"), "us-east-1", "127.0.0.1:5000", "/"),
        (Credentials("testing", "testing"), "cn-north-1", "dynamodb.cn-north-1.amazonaws.com.cn", "/"),
    ],
)
def test_a_signature_is_the_one_botocore_computes(credentials, region, host, path):
    ours = Signer(credentials, region, "dynamodb").headers(
        host, path, BODY, "application/x-amz-json-1.0", TARGET, now=WHEN.timestamp()
    )

    assert ours["authorization"] == botocore_authorization(credentials, region, host, path, BODY, WHEN)
    assert ours["x-amz-date"] == "20261201T235958Z"
    assert ("x-amz-security-token" in ours) == (credentials.session_token is not None)


def test_the_day_key_follows_the_date():
    credentials = Credentials("AKIAEXAMPLE", "secret")
    signer = Signer(credentials, "us-east-1", "dynamodb")
    host = "dynamodb.us-east-1.amazonaws.com"
    for when in (WHEN, WHEN + datetime.timedelta(seconds=5), WHEN + datetime.timedelta(days=1), WHEN):
        ours = signer.headers(host, "/", BODY, "application/x-amz-json-1.0", TARGET, now=when.timestamp())
        assert ours["authorization"] == botocore_authorization(credentials, "us-east-1", host, "/", BODY, when)


def test_a_different_body_or_target_changes_the_signature():
    signer = Signer(Credentials("AKIAEXAMPLE", "secret"), "us-east-1", "dynamodb")
    args = ("dynamodb.us-east-1.amazonaws.com", "/")
    base = signer.headers(*args, BODY, "application/x-amz-json-1.0", TARGET, now=WHEN.timestamp())["authorization"]
    other_body = signer.headers(*args, BODY + b" ", "application/x-amz-json-1.0", TARGET, now=WHEN.timestamp())
    other_target = signer.headers(
        *args, BODY, "application/x-amz-json-1.0", {"x-amz-target": "DynamoDB_20120810.DeleteItem"}, now=WHEN.timestamp()
    )
    assert len({base, other_body["authorization"], other_target["authorization"]}) == 3


def test_credentials_come_from_lambdas_environment_and_never_show_their_secret():
    credentials = credentials_from_environment(
        {"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value", "AWS_SESSION_TOKEN": "t0ken-value"}
    )

    assert credentials == Credentials("ASIAEXAMPLE", "s3cr3t-value", "t0ken-value")
    assert "s3cr3t-value" not in repr(credentials) and "t0ken-value" not in repr(credentials)
    assert credentials_from_environment({"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B"}).session_token is None


@pytest.mark.parametrize("environ", [{}, {"AWS_ACCESS_KEY_ID": "A"}, {"AWS_SECRET_ACCESS_KEY": "B"}])
def test_missing_credentials_are_named_not_guessed(environ):
    with pytest.raises(MissingCredentials, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        credentials_from_environment(environ)
