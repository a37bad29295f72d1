"""An optional abuse limit at the edge: an AWS WAF web ACL that blocks an IP sending too many ``/api/`` requests.

Off by default (a web ACL has a monthly fee). CloudFront web ACLs live in
us-east-1 whatever the stack's region, so the ACL names that region itself
(pulumi-aws 7's per-resource ``region``) and goes through the stack's own
provider, with its credentials, assumed roles and default tags.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from oauth_exchange.session_contract import API_PATH

EDGE_REGION = "us-east-1"
EVALUATION_WINDOW_SECONDS = 300
"""``rateLimit`` counts requests per 5 minutes, WAF's default window."""


@dataclass(frozen=True)
class RateLimitArgs:
    requests_per_five_minutes: int


class RateLimit(pulumi.ComponentResource):
    """A web ACL for the site's distribution: allow by default, block an IP over the limit on ``/api/*``."""

    web_acl_arn: pulumi.Output[str]
    metric_name: str
    """The web ACL's CloudWatch metric (the ``WebACL`` dimension of its WAF metrics)."""

    def __init__(self, name: str, args: RateLimitArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("oauth-exchange:index:RateLimit", name, None, opts)
        metric = f"{pulumi.get_project()}-{pulumi.get_stack()}-api-rate"
        web_acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            description=f"Blocks an IP that sends more than {args.requests_per_five_minutes} {API_PATH}/ requests in 5 minutes",
            scope="CLOUDFRONT",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=[
                aws.wafv2.WebAclRuleArgs(
                    name="api-requests-per-ip",
                    priority=0,
                    action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                            limit=args.requests_per_five_minutes,
                            aggregate_key_type="IP",
                            evaluation_window_sec=EVALUATION_WINDOW_SECONDS,
                            scope_down_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs(
                                byte_match_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementArgs(
                                    positional_constraint="STARTS_WITH",
                                    search_string=f"{API_PATH}/",
                                    field_to_match=aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchArgs(
                                        uri_path=aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchUriPathArgs()
                                    ),
                                    text_transformations=[
                                        aws.wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementTextTransformationArgs(
                                            priority=0, type="NONE"
                                        )
                                    ],
                                )
                            ),
                        )
                    ),
                    visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(
                        cloudwatch_metrics_enabled=True, metric_name=f"{metric}-per-ip", sampled_requests_enabled=True
                    ),
                )
            ],
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            ),
            region=EDGE_REGION,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.web_acl_arn = web_acl.arn
        self.metric_name = metric
        self.register_outputs({"web_acl_arn": self.web_acl_arn})
