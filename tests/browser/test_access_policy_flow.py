"""The demo on a stack restricted to an org: members sign in, anyone else is told plainly they are not allowed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from local.stack import LocalStack
from tests.browser.conftest import Flow


@pytest.fixture(scope="module")
def restricted() -> Iterator[LocalStack]:
    with LocalStack(allow={"orgs": ["octo-org"]}) as running:
        yield running


@pytest.fixture
def members_only(restricted: LocalStack, page) -> Iterator[Flow]:
    flow = Flow(restricted, page)
    yield flow
    restricted.provider.orgs["octo-org"] = "active"


def test_an_org_member_signs_in_and_was_asked_for_read_org(members_only):
    authorize = members_only.start_sign_in()
    assert authorize["scope"].split() == ["read:user", "read:org"]

    members_only.authorize()

    members_only.wait_signed_in()


def test_someone_outside_the_org_sees_access_not_allowed_and_keeps_no_token(members_only):
    members_only.provider.orgs.pop("octo-org")
    members_only.start_sign_in()

    members_only.authorize()

    members_only.expect_error("access_denied", "This account is not allowed to sign in to this site.")
    expect(members_only.page.get_by_role("heading", name="Access not allowed")).to_be_visible()
    token = members_only.provider.issued_access_tokens[-1]
    assert token in members_only.provider.revoked_tokens
    stored = members_only.storage()
    assert token not in str(stored)


def test_a_cancelled_consent_is_still_reported_as_cancelled(members_only):
    members_only.start_sign_in()

    members_only.deny()

    members_only.expect_error("access_denied", "access was not granted")
    expect(members_only.page.get_by_role("heading", name="Sign-in cancelled")).to_be_visible()
