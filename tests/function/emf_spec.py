"""The CloudWatch Embedded Metric Format, as a check every request line of the function tests passes.

``lambda_json_event`` is what Lambda's JSON log format makes of a ``logging``
record (the local runtime's formatter: the message, the logger, the request
id, and every ``extra`` field as a top-level key); ``check_event`` holds that event to the EMF
specification (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
CloudWatch_Embedded_Metric_Format_Specification.html): the document schema,
target members at the root, numeric metric values, string dimension values
of at most 1024 characters, at most 100 metrics a directive. On top, what
this project promises: only the metrics ``function/metrics.py`` declares,
with their units and dimension sets, and dimension values from closed sets,
so no token, code, cookie, email or user name can become a metric.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import Any

import jsonschema

import metrics
from exchange_errors import STATUS_BY_ERROR
from local.lambda_runtime import LambdaJsonFormatter

NAMESPACE = "OAuthExchange/tests"
ROUTES = frozenset(
    {"/token", "/revoke", "/auth", "/callback", "/api/session", "/api/session/token", "/api/proxy", "/api/other", "other"}
)
OUTCOMES = frozenset({"ok", *STATUS_BY_ERROR})
STATUS_CLASSES = frozenset({"1xx", "2xx", "3xx", "4xx", "5xx", "other"})
UNITS = (
    "Seconds|Microseconds|Milliseconds|Bytes|Kilobytes|Megabytes|Gigabytes|Terabytes|Bits|Kilobits|Megabits|Gigabits|"
    "Terabits|Percent|Count|Bytes/Second|Kilobytes/Second|Megabytes/Second|Gigabytes/Second|Terabytes/Second|"
    "Bits/Second|Kilobits/Second|Megabits/Second|Gigabits/Second|Terabits/Second|Count/Second|None"
)

_STRING = {"type": "string", "minLength": 1}
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {**_STRING, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "array", "maxItems": 30, "items": {**_STRING, "maxLength": 250}},
                            },
                            "Metrics": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {**_STRING, "maxLength": 1024},
                                        "Unit": {"type": "string", "pattern": f"^({UNITS})$"},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
VALIDATED: set[tuple[str, str]] = set()
"""(route, outcome) of every line ``check_event`` passed in this run."""
_LAMBDA_FORMAT = LambdaJsonFormatter()


def lambda_json_event(record: logging.LogRecord) -> dict[str, Any]:
    """The record as Lambda's JSON log format writes it; raises if a field is not JSON (Lambda's encoder would)."""
    return json.loads(_LAMBDA_FORMAT.format(logging.makeLogRecord(vars(record))))


def check_event(event: dict[str, Any], providers: Collection[str], never: Collection[str] = ()) -> None:
    """Assert that one request line is a valid EMF document of this project's metrics, naming nothing private."""
    jsonschema.validate(event, EMF_SCHEMA)
    seen: set[str] = set()
    for directive in event["_aws"]["CloudWatchMetrics"]:
        assert directive["Namespace"] == NAMESPACE
        dimension_sets = tuple(tuple(dimension_set) for dimension_set in directive["Dimensions"])
        for name in {key for dimension_set in dimension_sets for key in dimension_set}:
            value = event.get(name)
            assert isinstance(value, str) and 0 < len(value) <= 1024, f"dimension {name} is not a string member of the root"
            _check_dimension(name, value, providers, never)
        for definition in directive["Metrics"]:
            name = definition["Name"]
            declared = metrics.BY_NAME.get(name)
            assert declared is not None, f"{name} is not a metric function/metrics.py declares"
            assert name not in seen, f"{name} is defined twice"
            seen.add(name)
            assert definition.get("Unit") == declared.unit
            assert dimension_sets == declared.dimensions, f"{name} is published under undeclared dimension sets"
            value = event.get(name)
            values = value if isinstance(value, list) else [value]
            assert 0 < len(values) <= 100
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in values), name
    assert "Requests" in seen, "every request line counts the request"
    VALIDATED.add((event["route"], event["outcome"]))


def unvalidated() -> list[str]:
    """Routes and error codes no validated line has shown yet."""
    routes = {route for route, _ in VALIDATED}
    outcomes = {outcome for _, outcome in VALIDATED}
    return sorted(ROUTES - routes) + sorted(OUTCOMES - outcomes)


def _check_dimension(name: str, value: str, providers: Collection[str], never: Collection[str]) -> None:
    lowered = value.lower()
    assert all(lowered != private.lower() for private in never), f"dimension {name} carries a private value"
    assert "@" not in value, f"dimension {name} looks like an email address"
    if name == "route":
        assert value in ROUTES
    elif name == "outcome":
        assert value in OUTCOMES
    elif name == "provider":
        assert value in {*providers, "-", metrics.UNKNOWN_PROVIDER}, f"provider dimension {value!r} is not configured"
    elif name == "status_class":
        assert value in STATUS_CLASSES
    else:
        raise AssertionError(f"{name} is not one of the project's dimensions")
