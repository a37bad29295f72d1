"""The site, the stack's way, deployed under mocks: the demo, a built SPA, no site at all, a custom domain."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from oauth_exchange.settings import ConfigError
from tests.infra.stack_mocks import (
    function_config,
    CERTIFICATE_ID,
    CLOUDFRONT_ZONE_ID,
    DISTRIBUTION_DOMAIN,
    FUNCTION_URL_ID,
    TEST_CLIENT_ID,
    Deployment,
)

DOMAIN = "app.example.com"
ZONE = "Z0123456789ABCDEFGHIJ"
OWN_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
FUNCTION_URL = f"https://{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws/"
SITE_TYPES = (
    "oauth-exchange:index:StaticSite",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:cloudfront/distribution:Distribution",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
)
DOMAIN_TYPES = (
    "oauth-exchange:index:CustomDomain",
    "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:route53/record:Record",
)


def _outputs(deployment: Deployment) -> dict:
    return {name: value for name, (value, _) in deployment.outputs.items()}


def _objects(deployment: Deployment) -> dict[str, dict]:
    return {o.plain_inputs["key"]: o.plain_inputs for o in deployment.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}


def _cors_origins(deployment: Deployment) -> list[str]:
    return deployment.one("aws:lambda/functionUrl:FunctionUrl").plain_inputs["cors"]["allowOrigins"]


def _function_config(deployment: Deployment) -> dict:
    return function_config(deployment)


def _viewer_certificate(deployment: Deployment) -> dict:
    return deployment.one("aws:cloudfront/distribution:Distribution").plain_inputs["viewerCertificate"]


@pytest.fixture(scope="module")
def built_spa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``vite build`` leaves behind: hashed assets under assets/, an index.html that loads them."""
    dist = tmp_path_factory.mktemp("my-spa") / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="UTF-8"><title>My app</title>'
        '<script type="module" crossorigin src="/assets/index-BQ4x9.js"></script>'
        '<link rel="stylesheet" href="/assets/index-C2f1.css"></head><body><div id="root"></div></body></html>'
    )
    (dist / "assets" / "index-BQ4x9.js").write_text("import config from '/config.js'; console.log(config)")
    (dist / "assets" / "index-C2f1.css").write_text("#root{margin:0}")
    (dist / "assets" / "logo-9a8b.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (dist / "config.js").write_text("export default {functionUrl: 'http://localhost:9000'}")
    return dist


def test_demo_site_is_published_on_the_distributions_own_domain(dev: Deployment) -> None:
    assert {"index.html", "app.js", "oauth.js", "config.js"} <= set(_objects(dev))
    assert _viewer_certificate(dev) == {"cloudfrontDefaultCertificate": True}
    assert not dev.one("aws:cloudfront/distribution:Distribution").plain_inputs.get("aliases")
    assert not [r for r in dev.resources if r.type in DOMAIN_TYPES]
    assert _outputs(dev)["siteUrl"] == f"https://{DISTRIBUTION_DOMAIN}/"


def test_site_dir_publishes_that_spa_instead_of_the_demo(deploy: Callable[..., Deployment], built_spa: Path) -> None:
    deployment = deploy(siteDir=str(built_spa))
    objects = _objects(deployment)
    assert set(objects) == {
        "index.html",
        "assets/index-BQ4x9.js",
        "assets/index-C2f1.css",
        "assets/logo-9a8b.svg",
        "config.js",
    }
    assert objects["assets/index-BQ4x9.js"]["contentType"] == "text/javascript; charset=utf-8"
    assert objects["assets/index-C2f1.css"]["contentType"] == "text/css; charset=utf-8"
    assert objects["assets/logo-9a8b.svg"]["source"].path == str(built_spa / "assets" / "logo-9a8b.svg")
    assert objects["config.js"]["cacheControl"] == "no-store"
    assert f'"functionUrl": "{FUNCTION_URL.rstrip("/")}"' in objects["config.js"]["content"]
    index = objects["index.html"]["content"]
    assert index.startswith('<!doctype html><html lang="en"><head>\n    <meta http-equiv="Content-Security-Policy"')
    assert '<div id="root"></div>' in index
    assert objects["index.html"]["cacheControl"] == "no-cache"


def test_a_site_dir_without_index_html_stops_the_program_naming_site_dir(
    deploy: Callable[..., Deployment], tmp_path: Path
) -> None:
    (tmp_path / "app.js").write_text("")
    with pytest.raises(ConfigError, match=r"^oauth-exchange:siteDir: .* has no index\.html"):
        deploy(siteDir=str(tmp_path))


def test_without_a_site_only_the_function_and_its_secret_are_deployed(deploy: Callable[..., Deployment]) -> None:
    deployment = deploy(deploySite=False, extraOrigins=["https://app.example.com", "http://localhost:5173"])
    assert not [r.type for r in deployment.resources if r.type in SITE_TYPES or r.type.startswith("aws:s3")]
    assert _cors_origins(deployment) == ["https://app.example.com", "http://localhost:5173"]
    config = _function_config(deployment)
    assert config["allowed_origins"] == ["https://app.example.com", "http://localhost:5173"]
    outputs = _outputs(deployment)
    assert set(outputs) == {
        "functionUrl",
        "callbackUrls",
        "secretArn",
        "spaConfig",
        "allowedOrigins",
        "configJs",
        "connectSrc",
        "dashboardUrl",
        "alarmTopicArn",
    }
    assert outputs["allowedOrigins"] == ["https://app.example.com", "http://localhost:5173"]
    assert outputs["callbackUrls"] == {"github": config["providers"]["github"]["redirect_uris"]}
    assert outputs["callbackUrls"]["github"] == [
        "https://app.example.com/callback/github",
        "http://localhost:5173/callback/github",
    ]


def test_without_a_site_the_outputs_say_what_to_put_in_the_spa(deploy: Callable[..., Deployment]) -> None:
    outputs = _outputs(deploy(deploySite=False, extraOrigins=["https://app.example.com"]))
    assert outputs["spaConfig"]["functionUrl"] == FUNCTION_URL.rstrip("/")
    assert outputs["spaConfig"]["providers"][0]["clientId"] == TEST_CLIENT_ID
    exported = re.search(r"export default Object\.freeze\((.*)\);", outputs["configJs"], re.S)[1]
    assert json.loads(exported) == outputs["spaConfig"]
    assert outputs["connectSrc"] == ["'self'", FUNCTION_URL.rstrip("/"), "https://api.github.com"]


def test_without_a_site_an_origin_is_required(deploy: Callable[..., Deployment]) -> None:
    with pytest.raises(ConfigError, match=r"^oauth-exchange:extraOrigins: deploySite is false"):
        deploy(deploySite=False, extraOrigins=[])


def test_custom_domain_with_a_zone_gets_a_validated_certificate_in_us_east_1(
    deploy: Callable[..., Deployment],
) -> None:
    deployment = deploy(**{"customDomain": {"domain": DOMAIN, "hostedZoneId": ZONE}, "aws:region": "eu-west-1"})
    certificate = deployment.one("aws:acm/certificate:Certificate")
    assert certificate.plain_inputs["domainName"] == DOMAIN
    assert certificate.plain_inputs["validationMethod"] == "DNS"
    assert certificate.plain_inputs["region"] == "us-east-1"
    validation = deployment.one("aws:acm/certificateValidation:CertificateValidation")
    assert validation.plain_inputs["region"] == "us-east-1"
    assert _viewer_certificate(deployment)["acmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    # The stack's own provider, with its credentials, assumed roles and default tags: no second one.
    assert deployment.of_type("pulumi:providers:aws") == []
    assert (certificate.provider, validation.provider) == ("", "")
    assert "region" not in deployment.one("aws:lambda/function:Function").plain_inputs

    records = {r.plain_inputs["type"]: r.plain_inputs for r in deployment.of_type("aws:route53/record:Record")}
    assert set(records) == {"CNAME", "A", "AAAA"}
    challenge = records["CNAME"]
    assert (challenge["zoneId"], challenge["name"], challenge["records"]) == (
        ZONE,
        f"_3a9f0c.{DOMAIN}.",
        ["_7b2e41.acm-validations.aws."],
    )
    validation = deployment.one("aws:acm/certificateValidation:CertificateValidation").plain_inputs
    assert validation["validationRecordFqdns"] == [f"_3a9f0c.{DOMAIN}"]
    for record_type in ("A", "AAAA"):
        record = records[record_type]
        assert (record["zoneId"], record["name"]) == (ZONE, DOMAIN)
        assert record["aliases"] == [
            {"name": DISTRIBUTION_DOMAIN, "zoneId": CLOUDFRONT_ZONE_ID, "evaluateTargetHealth": False}
        ]


def test_custom_domain_is_served_with_tls_1_2_and_is_the_site_origin_everywhere(
    deploy: Callable[..., Deployment],
) -> None:
    deployment = deploy(customDomain={"domain": DOMAIN, "hostedZoneId": ZONE})
    distribution = deployment.one("aws:cloudfront/distribution:Distribution").plain_inputs
    assert distribution["aliases"] == [DOMAIN]
    assert _viewer_certificate(deployment) == {
        "acmCertificateArn": f"arn:aws:acm:us-east-1:123456789012:certificate/{CERTIFICATE_ID}",
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    origin = f"https://{DOMAIN}"
    assert _cors_origins(deployment) == [origin, "http://localhost:8000"]
    config = _function_config(deployment)
    assert config["allowed_origins"] == [origin, "http://localhost:8000"]
    uris = config["providers"]["github"]["redirect_uris"]
    assert uris[0] == f"{origin}/callback/github"
    assert not [uri for uri in uris if "cloudfront.net" in uri]
    outputs = _outputs(deployment)
    assert outputs["siteUrl"] == f"{origin}/"
    assert outputs["callbackUrls"] == {"github": uris}
    assert outputs["distributionDomain"] == DISTRIBUTION_DOMAIN


def test_custom_domain_with_an_issued_certificate_creates_no_certificate_or_records(
    deploy: Callable[..., Deployment],
) -> None:
    deployment = deploy(customDomain={"domain": DOMAIN, "certificateArn": OWN_CERTIFICATE})
    assert deployment.one("oauth-exchange:index:CustomDomain")
    assert not [r.type for r in deployment.resources if r.type in DOMAIN_TYPES[1:]]
    assert _viewer_certificate(deployment)["acmCertificateArn"] == OWN_CERTIFICATE
    assert _viewer_certificate(deployment)["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert deployment.one("aws:cloudfront/distribution:Distribution").plain_inputs["aliases"] == [DOMAIN]
    assert _cors_origins(deployment)[0] == f"https://{DOMAIN}"
    outputs = _outputs(deployment)
    assert outputs["siteUrl"] == f"https://{DOMAIN}/"
    assert outputs["distributionDomain"] == DISTRIBUTION_DOMAIN


def test_custom_domain_with_a_certificate_and_a_zone_only_adds_the_records(deploy: Callable[..., Deployment]) -> None:
    deployment = deploy(customDomain={"domain": DOMAIN, "certificateArn": OWN_CERTIFICATE, "hostedZoneId": ZONE})
    assert not deployment.of_type("aws:acm/certificate:Certificate")
    assert sorted(r.plain_inputs["type"] for r in deployment.of_type("aws:route53/record:Record")) == ["A", "AAAA"]


def test_csp_additions_reach_the_header_and_the_pinned_policy(deploy: Callable[..., Deployment]) -> None:
    deployment = deploy(
        contentSecurityPolicy={"connectSrc": ["https://api.example.com"], "styleSrc": ["'unsafe-inline'"]}
    )
    headers = deployment.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").plain_inputs
    csp = headers["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    assert "style-src 'self' 'unsafe-inline'" in csp
    assert "https://api.example.com" in csp.split("connect-src", 1)[1].split(";")[0]
    assert "script-src 'self';" in csp
    index = _objects(deployment)["index.html"]["content"]
    pinned = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', index)[1]
    assert pinned.endswith(" https://api.example.com")


def test_an_unsafe_script_source_stops_the_program_naming_it(deploy: Callable[..., Deployment]) -> None:
    with pytest.raises(ConfigError, match=r"^oauth-exchange:contentSecurityPolicy\.scriptSrc\[0\]: "):
        deploy(contentSecurityPolicy={"scriptSrc": ["'unsafe-eval'"]})
