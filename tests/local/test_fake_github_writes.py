"""The fake GitHub saves as GitHub does: GraphQL's createCommitOnBranch and the Git Database REST API.

What Sveltia CMS and Static CMS call to check access and save an entry, with
GitHub's answers to a stale head, a non-fast-forward, a stranger and a bad token.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.fake_github_repo import DEMO_POST
from local.fake_provider import FakeProvider
from tests.local.conftest import CMS_ORIGIN

REPO = "/repos/octocat/website"
POST = DEMO_POST
SAVE = """
mutation($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid committedDate file_0: file(path: "%s") { oid } } }
}
""" % POST


@pytest.fixture
def api(github: FakeProvider) -> Iterator[httpx.Client]:
    token = github.issue_tokens("repo")["access_token"]
    with httpx.Client(base_url=github.base_url, headers={"authorization": f"token {token}", "origin": CMS_ORIGIN}) as client:
        yield client


def graphql(api: httpx.Client, query: str, **variables) -> dict:
    answer = api.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == CMS_ORIGIN
    return answer.json()


def save(api: httpx.Client, head: str, text: str, repository: str = "octocat/website") -> dict:
    change = {"additions": [{"path": POST, "contents": base64.b64encode(text.encode()).decode()}]}
    branch = {"repositoryNameWithOwner": repository, "branchName": "main"}
    return graphql(api, SAVE, input={"branch": branch, "expectedHeadOid": head, "fileChanges": change, "message": {"headline": "Edit"}})


@pytest.mark.parametrize(("login", "status"), [("octocat", 204), ("Octocat", 204), ("octocat-evil", 404), ("octo", 404)])
def test_only_the_repositorys_collaborators_pass_the_access_check(api, login, status) -> None:
    """GitHub compares logins case-insensitively: Octocat is octocat; a longer or shorter name is another user."""
    answer = api.get(f"/api/v3{REPO}/collaborators/{login}")
    assert (answer.status_code, answer.content) == (status, b"" if status == 204 else answer.content)


def test_rest_is_served_under_github_enterprise_paths_too(api) -> None:
    assert api.get(f"/api/v3{REPO}").json() == api.get(REPO).json()
    assert api.get("/api/v3/user").json()["login"] == "octocat"


def test_a_commit_on_the_branch_is_read_back_through_graphql_and_rest(github, api) -> None:
    repository = github.repository
    head = graphql(api, "query($o: String!, $r: String!) { repository(owner: $o, name: $r) { defaultBranchRef { name target { oid } } } }", o="octocat", r="website")
    assert head["data"]["repository"]["defaultBranchRef"] == {"name": "main", "target": {"oid": repository.head.sha}}

    saved = save(api, repository.head.sha, "---\ntitle: Edited\n---\n")
    commit = saved["data"]["createCommitOnBranch"]["commit"]
    assert commit["oid"] == repository.head.sha and repository.head.changed == {POST}
    assert commit["file_0"]["oid"] == repository.paths[POST]
    assert repository.files[POST] == b"---\ntitle: Edited\n---\n"
    blob = graphql(api, f'query {{ repository(owner: "octocat", name: "website") {{ object(oid: "{commit["file_0"]["oid"]}") {{ ... on Blob {{ text isTruncated }} }} }} }}')
    assert blob["data"]["repository"]["object"] == {"text": "---\ntitle: Edited\n---\n", "isTruncated": False}
    history = api.get(f"{REPO}/commits", params={"path": POST}).json()
    assert [c["sha"] for c in history] == [repository.head.sha, repository.history[0].sha]
    assert api.get(f"{REPO}/commits", params={"path": "README.md"}).json()[0]["sha"] == repository.history[0].sha


def test_a_save_on_a_stale_head_is_refused_and_changes_nothing(github, api) -> None:
    repository = github.repository
    first = repository.head.sha
    save(api, first, "one\n")
    stale = save(api, first, "two\n")
    assert stale["data"] == {"createCommitOnBranch": None}
    assert stale["errors"][0]["message"].startswith(f'Expected branch to point to "{first}" but it did not.')
    assert repository.files[POST] == b"one\n" and len(repository.history) == 2


def test_a_save_to_another_repository_is_refused(github, api) -> None:
    refused = save(api, github.repository.head.sha, "x\n", repository="octocat/website-evil")
    assert refused["data"] == {"createCommitOnBranch": None} and len(github.repository.history) == 1


@pytest.mark.parametrize("authorization", [None, "token not-issued"])
def test_graphql_needs_a_token_the_fake_issued(github, authorization) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    answer = httpx.post(github.base_url + "/graphql", json={"query": "{ repository(owner: \"octocat\", name: \"website\") { name } }"}, headers=headers)
    assert answer.status_code == 401 and answer.json()["message"] == "Bad credentials"


def test_a_query_github_would_refuse_is_refused_with_graphqls_error(api) -> None:
    answer = graphql(api, '{ repository(owner: "octocat", name: "website") { secrets } }')
    assert answer["errors"][0]["message"] == "Cannot query field 'secrets' on type 'Repository'."


def test_the_git_database_api_saves_as_static_cms_does(github, api, tmp_path: Path) -> None:
    repository = github.repository
    base = repository.head.sha
    blob = api.post(f"{REPO}/git/blobs", json={"content": base64.b64encode(b"edited\n").decode(), "encoding": "base64"})
    assert blob.status_code == 201
    tree = api.post(f"{REPO}/git/trees", json={"base_tree": base, "tree": [{"path": POST, "mode": "100644", "type": "blob", "sha": blob.json()["sha"]}]})
    commit = api.post(f"{REPO}/git/commits", json={"message": "Edit", "tree": tree.json()["sha"], "parents": [base]})
    assert (tree.status_code, commit.status_code) == (201, 201)
    assert repository.head.sha == base, "a commit object is not on the branch until the ref moves"
    moved = api.patch(f"{REPO}/git/refs/heads/main", json={"sha": commit.json()["sha"], "force": False})
    assert moved.status_code == 200 and repository.head.sha == commit.json()["sha"] and repository.files[POST] == b"edited\n"

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for path, data in repository.files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    written = subprocess.run(["git", "-C", str(tmp_path), "write-tree"], capture_output=True, text=True, check=True).stdout.strip()
    assert repository.head.tree == written, "the tree id is git's own"


def test_a_ref_update_that_is_not_a_fast_forward_is_refused(github, api) -> None:
    repository = github.repository
    base = repository.head.sha
    tree = api.post(f"{REPO}/git/trees", json={"base_tree": base, "tree": [{"path": "a.txt", "mode": "100644", "type": "blob", "content": "a"}]})
    one = api.post(f"{REPO}/git/commits", json={"message": "one", "tree": tree.json()["sha"], "parents": [base]}).json()["sha"]
    two = api.post(f"{REPO}/git/commits", json={"message": "two", "tree": tree.json()["sha"], "parents": [base]}).json()["sha"]
    assert api.patch(f"{REPO}/git/refs/heads/main", json={"sha": one}).status_code == 200
    refused = api.patch(f"{REPO}/git/refs/heads/main", json={"sha": two})
    assert refused.status_code == 422 and refused.json()["message"] == "Update is not a fast forward"
    assert repository.head.sha == one


def test_a_commits_statuses_deployments_and_checks_are_empty_as_for_a_repository_without_ci(github, api) -> None:
    selection = (
        "status { contexts { context } } "
        "deployments(last: 5, orderBy: {field: CREATED_AT, direction: ASC}) { nodes { environment } } "
        "checkSuites(last: 5) { nodes { checkRuns(last: 5) { nodes { name } } } }"
    )
    oid = github.repository.head.sha
    answer = graphql(api, f'{{ repository(owner: "octocat", name: "website") {{ commit_0: object(oid: "{oid}") {{ ... on Commit {{ {selection} }} }} }} }}')
    assert answer == {"data": {"repository": {"commit_0": {"status": None, "deployments": {"nodes": []}, "checkSuites": {"nodes": []}}}}}
