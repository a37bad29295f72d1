"""Each CMS's published bundle signs in through the function, opens the Posts entry, edits it and saves a commit.

The admin page is served by the local stack (``--cms sveltia``, ...); the
fake GitHub answers the REST and GraphQL calls each CMS makes to list, open
and save an entry, and keeps the commit it saves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from local.stack import LocalStack

POST = "content/posts/hello-world.md"
SIGN_IN = {"Sveltia CMS": re.compile(r"^Sign In with .GitHub.$")}
"""Each CMS's sign-in button, by its label (Sveltia wraps the name in bidi isolates)."""


@pytest.fixture(scope="module", params=["sveltia"])
def cms_stack(request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    with LocalStack(cms=request.param) as running:
        yield running


def sign_in(cms_stack: LocalStack, admin: Page) -> str:
    """Through the popup, as the user would; the token the fake GitHub issued for it."""
    issued = len(cms_stack.provider.issued_access_tokens)
    admin.goto(cms_stack.cms_site.admin_url)
    with admin.expect_popup() as opened:
        admin.get_by_role("button", name=SIGN_IN[cms_stack.cms_site.bundle.label]).click()
    opened.value.get_by_role("button", name="Authorize").click()
    expect(admin.get_by_text("Signed in through the function")).to_be_visible(timeout=30_000)
    (token,) = cms_stack.provider.issued_access_tokens[issued:]
    return token


def test_the_cms_signs_in_opens_the_post_edits_it_and_the_commit_lands_in_the_repository(cms_stack, page) -> None:
    repository = cms_stack.repository
    before = repository.head
    token = sign_in(cms_stack, page)
    page.get_by_text("Hello, world").first.click()
    title = page.get_by_role("textbox").first
    expect(title).to_have_value("Hello, world")
    title.fill("Hello, edited world")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("Hello, edited world").first).to_be_visible(timeout=20_000)
    commit = repository.head
    assert commit.parent == before.sha and commit.changed == {POST}
    assert "hello-world" in commit.message
    assert repository.files[POST].decode().startswith("---\ntitle: Hello, edited world\n")
    saves = [seen for seen in cms_stack.provider.requests_to("/graphql") if b"createCommitOnBranch" in seen.body]
    assert [seen.headers["authorization"] for seen in saves] == [f"token {token}"]
    assert saves[0].json()["variables"]["input"]["expectedHeadOid"] == before.sha
