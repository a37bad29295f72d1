"""Pulumi mocks for unit tests of a program that uses ``OAuthExchange``: ``pulumi.runtime.set_mocks(Mocks())``.

Pulumi's mocks run a program without an engine, but every output a resource
computes (a function URL, a distribution's domain, an ARN) comes back as
whatever ``new_resource`` returns. These mocks return what AWS would, in the
shapes AWS uses, for every resource the component creates; anything else
(the program's own resources and calls) is echoed, as in Pulumi's docs.
Subclass and call ``super()`` to add your own. The values are fixed, so a
test can compare them (``FUNCTION_URL``, ``DISTRIBUTION_DOMAIN``, ...).
"""

from __future__ import annotations

from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
DISTRIBUTION_ID = "E2QWRUHAPOMQZL"
DISTRIBUTION_DOMAIN = "d1234abcd5678.cloudfront.net"
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
CERTIFICATE_ID = "9f8e7d6c-5b4a-3210-fedc-ba9876543210"
FUNCTION_URL_ID = "abcdefghijklmnopqrstuvwxyz234567"
KMS_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
WEB_ACL_ID = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
AUTONAME_SUFFIX = "-20251129"
"""What the mocks append to a resource's name or name prefix, as Pulumi's autonaming would."""


def function_url(region: str) -> str:
    """The function URL the mocks give the exchange function in ``region``."""
    return f"https://{FUNCTION_URL_ID}.lambda-url.{region}.on.aws/"


def random_password(name: str) -> str:
    """What the mocks make a RandomPassword named ``name`` generate: distinct per name, stable per name."""
    return f"mockRandom{name.replace('-', '')}" + "x" * 32


class Mocks(pulumi.runtime.Mocks):
    """Fills in what AWS would compute (ARNs, names, domains) so the component's derived values look real."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        results = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/deployer",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT_ID,
            },
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
                "id": "aws",
            },
            "aws:index/getRegion:getRegion": {"region": self.region, "name": self.region, "id": self.region},
        }
        return results.get(args.token, dict(args.args)), []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        resource_id, computed = self._computed(args.typ, args.name, inputs)
        return resource_id, inputs | computed

    def _computed(self, typ: str, resource_name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        # A resource lives in its own ``region`` when it names one (pulumi-aws 7), else in the provider's.
        region, account = inputs.get("region") or self.region, ACCOUNT_ID
        name = inputs.get("name") or (inputs.get("namePrefix") or f"{resource_name}-").rstrip("-") + AUTONAME_SUFFIX
        match typ:
            case "aws:s3/bucket:Bucket":
                bucket = f"{resource_name}-7f3a9c"
                return bucket, {
                    "bucket": bucket,
                    "arn": f"arn:aws:s3:::{bucket}",
                    "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
                }
            case "aws:cloudfront/distribution:Distribution":
                return DISTRIBUTION_ID, {
                    "arn": f"arn:aws:cloudfront::{account}:distribution/{DISTRIBUTION_ID}",
                    "domainName": DISTRIBUTION_DOMAIN,
                    "hostedZoneId": CLOUDFRONT_ZONE_ID,
                }
            case "aws:acm/certificate:Certificate":
                arn = f"arn:aws:acm:{region}:{account}:certificate/{CERTIFICATE_ID}"
                domain = inputs["domainName"]
                validation = {
                    "domainName": domain,
                    "resourceRecordName": f"_3a9f0c.{domain}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": "_7b2e41.acm-validations.aws.",
                }
                return arn, {"arn": arn, "domainValidationOptions": [validation]}
            case "aws:acm/certificateValidation:CertificateValidation":
                return f"{resource_name}-id", {"certificateArn": inputs["certificateArn"]}
            case "aws:route53/record:Record":
                return f"{resource_name}-id", {"fqdn": inputs["name"].rstrip(".")}
            case "aws:kms/key:Key":
                return KMS_KEY_ID, {"keyId": KMS_KEY_ID, "arn": f"arn:aws:kms:{region}:{account}:key/{KMS_KEY_ID}"}
            case "aws:secretsmanager/secret:Secret":
                arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{resource_name}-AbCdEf"
                return arn, {"arn": arn}
            case "aws:secretsmanager/secretVersion:SecretVersion":
                return f"{resource_name}-id", {"secretArn": inputs["secretId"], "arn": inputs["secretId"]}
            case "aws:cloudwatch/logGroup:LogGroup":
                return f"{resource_name}-id", {"name": name, "arn": f"arn:aws:logs:{region}:{account}:log-group:{name}"}
            case "aws:iam/role:Role":
                return f"{resource_name}-id", {"name": name, "arn": f"arn:aws:iam::{account}:role/{name}"}
            case "aws:lambda/function:Function":
                return f"{resource_name}-id", {"name": name, "arn": f"arn:aws:lambda:{region}:{account}:function:{name}"}
            case "aws:lambda/functionUrl:FunctionUrl":
                return f"{resource_name}-id", {"functionUrl": function_url(region)}
            case "random:index/randomPassword:RandomPassword":
                return f"{resource_name}-id", {"result": random_password(resource_name), "bcryptHash": "$2a$10$mock"}
            case "aws:dynamodb/table:Table":
                return f"{resource_name}-id", {"name": name, "arn": f"arn:aws:dynamodb:{region}:{account}:table/{name}"}
            case "aws:cloudfront/function:Function":
                return f"{resource_name}-id", {"name": name, "arn": f"arn:aws:cloudfront::{account}:function/{name}"}
            case "aws:wafv2/webAcl:WebAcl":
                arn = f"arn:aws:wafv2:{region}:{account}:global/webacl/{name}/{WEB_ACL_ID}"
                return WEB_ACL_ID, {"arn": arn}
            case "aws:sns/topic:Topic":
                return f"{resource_name}-id", {"name": name, "arn": f"arn:aws:sns:{region}:{account}:{name}"}
        return f"{resource_name}-id", {}
