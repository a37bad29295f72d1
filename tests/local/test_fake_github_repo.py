"""The fake GitHub's repository API answers as api.github.com does, with real git object ids."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.fake_github_repo import DEMO_FILES
from local.fake_provider import FakeProvider
from tests.local.conftest import CMS_ORIGIN

REPO = "/repos/octocat/website"


@pytest.fixture
def api(github: FakeProvider) -> Iterator[httpx.Client]:
    token = github.issue_tokens("repo")["access_token"]
    with httpx.Client(base_url=github.base_url, headers={"authorization": f"token {token}"}) as client:
        yield client


def git(repo: Path, *args: str, data: bytes | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, check=True).stdout.decode().strip()


def test_object_ids_are_the_ones_git_computes_for_the_same_files(github, tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for path, text in DEMO_FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    git(tmp_path, "add", "-A")

    assert github.repository.root_tree == git(tmp_path, "write-tree")
    for path in DEMO_FILES:
        assert github.repository.paths[path] == git(tmp_path, "hash-object", path)


def test_the_repository_tells_the_caller_it_may_push(api):
    answer = api.get(REPO)

    assert answer.status_code == 200
    body = answer.json()
    assert (body["full_name"], body["default_branch"], body["permissions"]["push"]) == ("octocat/website", "main", True)
    assert body["owner"]["login"] == "octocat"


def test_a_folder_lists_as_a_tree_of_blobs_whose_contents_are_the_files(api, github):
    tree = api.get(REPO + "/git/trees/main:content/posts").json()

    names = {entry["path"]: entry for entry in tree["tree"]}
    assert set(names) == {"hello-world.md", "signed-in-through-the-function.md"}
    blob = api.get(REPO + f"/git/blobs/{names['hello-world.md']['sha']}").json()
    assert blob["encoding"] == "base64"
    assert base64.b64decode(blob["content"]).decode() == DEMO_FILES["content/posts/hello-world.md"]


def test_a_recursive_tree_lists_every_file_under_it(api):
    tree = api.get(REPO + "/git/trees/main", params={"recursive": "1"}).json()

    assert {e["path"] for e in tree["tree"] if e["type"] == "blob"} == set(DEMO_FILES)


def test_contents_and_commits_answer_for_paths_and_the_branch(api):
    file = api.get(REPO + "/contents/README.md", params={"ref": "main"}).json()
    folder = api.get(REPO + "/contents/content/posts").json()
    commits = api.get(REPO + "/commits", params={"path": "content/posts/hello-world.md", "sha": "main"}).json()

    assert base64.b64decode(file["content"]).decode() == DEMO_FILES["README.md"]
    assert [entry["name"] for entry in folder] == ["hello-world.md", "signed-in-through-the-function.md"]
    assert commits[0]["commit"]["author"]["name"] == "The Octocat"
    assert api.get(REPO + "/commits", params={"path": "nope.md"}).json() == []


@pytest.mark.parametrize("path", ["/git/trees/main:missing", "/git/blobs/" + "0" * 40, "/branches/other", "/contents/missing.md", "/issues"])
def test_what_the_repository_does_not_have_is_not_found(api, path):
    answer = api.get(REPO + path)

    assert answer.status_code == 404
    assert answer.json()["message"] == "Not Found"


def test_without_a_token_the_private_repository_is_hidden_and_a_bad_token_is_bad_credentials(github):
    base = github.base_url + "/repos/octocat/website"

    assert httpx.get(base).status_code == 404
    bad = httpx.get(base, headers={"authorization": "token gho_nope"})
    assert (bad.status_code, bad.json()["message"]) == (401, "Bad credentials")


def test_browsers_of_the_allowed_origin_may_call_it_with_a_json_content_type(github, api):
    preflight = httpx.options(
        github.base_url + "/repos/octocat/website",
        headers={"origin": CMS_ORIGIN, "access-control-request-method": "GET", "access-control-request-headers": "authorization,content-type"},
    )
    answer = api.get(REPO, headers={"origin": CMS_ORIGIN})
    foreign = api.get(REPO, headers={"origin": "http://evil.example"})

    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == CMS_ORIGIN
    assert "Content-Type" in preflight.headers["access-control-allow-headers"]
    assert answer.headers["access-control-allow-origin"] == CMS_ORIGIN
    assert "Link" in answer.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in foreign.headers


def test_the_providers_own_routes_still_answer(github):
    token = github.issue_tokens("read:user")["access_token"]

    assert httpx.get(github.urls["user"], headers={"authorization": f"Bearer {token}"}).json()["login"] == "octocat"
    assert httpx.get(github.base_url + "/repos/someone/else", headers={"authorization": f"token {token}"}).status_code == 404
