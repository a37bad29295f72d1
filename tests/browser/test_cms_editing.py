"""Each CMS's published bundle signs in through the function, opens the Posts entry, edits it and saves a commit.

The admin page is served by the local stack (``--cms sveltia``, ...); the
fake GitHub answers the REST and GraphQL calls each CMS makes to list, open
and save an entry, and keeps the commit it saves: Sveltia CMS saves with
GraphQL's ``createCommitOnBranch``, Decap CMS and Static CMS (a fork of it)
with the Git Database REST API (blob, tree, commit, then the branch moved).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from local.fake_github_repo import DEMO_POST, Commit, FakeRepository
from local.fake_http import SeenRequest
from local.stack import LocalStack

POST = DEMO_POST


def _save_sveltia(page: Page) -> None:
    page.get_by_role("button", name="Save", exact=True).click()


def _save_decap(page: Page) -> None:
    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_text("Publish now", exact=True).click()


def _save_static(page: Page) -> None:
    page.get_by_role("button", name="publish options dropdown").click()
    page.get_by_role("menuitem", name="Publish now").click()


@dataclass(frozen=True)
class Cms:
    sign_in: re.Pattern[str]
    save: Callable[[Page], None]
    moves_the_branch: Callable[[SeenRequest], bool]
    """The request of the save that puts the commit on the branch."""


CMSS = {
    "decap": Cms(
        re.compile(r"Login with GitHub"),
        _save_decap,
        lambda seen: (seen.method, seen.path) == ("PATCH", "/repos/octocat/website/git/refs/heads/main"),
    ),
    "sveltia": Cms(
        re.compile(r"^Sign In with .GitHub.$"),  # Sveltia wraps the name in bidi isolates
        _save_sveltia,
        lambda seen: seen.path == "/graphql" and b"createCommitOnBranch" in seen.body,
    ),
    "static": Cms(
        re.compile(r"GitHub"),
        _save_static,
        lambda seen: (seen.method, seen.path) == ("PATCH", "/repos/octocat/website/git/refs/heads/main"),
    ),
}


@pytest.fixture(scope="module", params=sorted(CMSS))
def cms(request: pytest.FixtureRequest) -> Iterator[tuple[Cms, LocalStack]]:
    with LocalStack(cms=request.param) as running:
        yield CMSS[request.param], running


def sign_in(cms: Cms, stack: LocalStack, admin: Page) -> str:
    """Through the popup, as the user would; the token the fake GitHub issued for it."""
    issued = len(stack.provider.issued_access_tokens)
    admin.goto(stack.cms_site.admin_url)
    with admin.expect_popup() as opened:
        admin.get_by_role("button", name=cms.sign_in).first.click()
    opened.value.get_by_role("button", name="Authorize").click()
    expect(admin.get_by_text("Signed in through the function")).to_be_visible(timeout=30_000)
    (token,) = stack.provider.issued_access_tokens[issued:]
    return token


def wait_for_commit(repository: FakeRepository, before: Commit, timeout: float = 20.0) -> Commit:
    """The branch's new head, once the CMS's save has moved it (the editor shows the edit before that)."""
    deadline = time.monotonic() + timeout
    while repository.head == before:
        assert time.monotonic() < deadline, "the save never reached the repository"
        time.sleep(0.1)
    return repository.head


def test_the_cms_signs_in_opens_the_post_edits_it_and_the_commit_lands_in_the_repository(cms, page) -> None:
    kind, stack = cms
    repository = stack.repository
    before = repository.head
    token = sign_in(kind, stack, page)
    page.get_by_text("Hello, world").first.click()
    title = page.get_by_role("textbox").first
    expect(title).to_have_value("Hello, world")
    title.fill("Hello, edited world")
    kind.save(page)

    commit = wait_for_commit(repository, before)
    assert commit.parent == before.sha and commit.changed == {POST}
    assert "hello-world" in commit.message
    assert repository.files[POST].decode().startswith("---\ntitle: Hello, edited world\n")
    saves = [seen for seen in stack.provider.seen if kind.moves_the_branch(seen)]
    assert [seen.headers["authorization"] for seen in saves] == [f"token {token}"]
