"""The site's own domain: an ACM certificate in us-east-1, DNS-validated in Route 53, and the records that point at the site.

CloudFront only takes certificates from ACM in us-east-1, so the certificate
and its validation name that region themselves (pulumi-aws 7's per-resource
``region``), whatever region the rest of the stack uses. They go through the
stack's own AWS provider, so its credentials, assumed roles, allowed
accounts and default tags apply to them too: an explicit provider would take
only what it is given. With ``certificateArn`` an issued
certificate is used as it is; with ``hostedZoneId`` the zone gets the
validation record and A/AAAA aliases to the distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from oauth_exchange.site_settings import CERTIFICATE_REGION, DomainSettings

VALIDATION_RECORD_TTL = 300


@dataclass(frozen=True)
class CustomDomainArgs:
    domain: DomainSettings


class CustomDomain(pulumi.ComponentResource):
    """The certificate a distribution serves its custom domain with, and (given a zone) that domain's DNS."""

    certificate_arn: pulumi.Output[str]
    """An issued certificate: a new one only once its DNS validation has succeeded."""

    def __init__(self, name: str, args: CustomDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:CustomDomain", name, None, opts)
        self._name = name
        self._domain = domain = args.domain
        child = pulumi.ResourceOptions(parent=self)

        if domain.certificate_arn is not None:
            self.certificate_arn = pulumi.Output.from_input(domain.certificate_arn)
        else:
            # Without a certificate ARN, DomainSettings holds a zone to validate a new certificate in.
            certificate = aws.acm.Certificate(
                f"{name}-certificate",
                domain_name=domain.domain,
                validation_method="DNS",
                region=CERTIFICATE_REGION,
                opts=child,
            )
            challenge = certificate.domain_validation_options.apply(lambda options: options[0])
            record = aws.route53.Record(
                f"{name}-validation",
                zone_id=domain.hosted_zone_id,
                name=challenge.resource_record_name,
                type=challenge.resource_record_type,
                records=[challenge.resource_record_value],
                ttl=VALIDATION_RECORD_TTL,
                allow_overwrite=True,
                opts=child,
            )
            validation = aws.acm.CertificateValidation(
                f"{name}-validated",
                certificate_arn=certificate.arn,
                validation_record_fqdns=[record.fqdn],
                region=CERTIFICATE_REGION,
                opts=child,
            )
            self.certificate_arn = validation.certificate_arn
        self.register_outputs({"certificate_arn": self.certificate_arn})

    def route_to(self, distribution: aws.cloudfront.Distribution) -> None:
        """Point the domain at the distribution (IPv4 and IPv6), when this stack manages its zone."""
        if self._domain.hosted_zone_id is None:
            return
        for record_type in ("A", "AAAA"):
            aws.route53.Record(
                f"{self._name}-{record_type.lower()}",
                zone_id=self._domain.hosted_zone_id,
                name=self._domain.domain,
                type=record_type,
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=distribution.domain_name,
                        zone_id=distribution.hosted_zone_id,
                        evaluate_target_health=False,
                    )
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )
