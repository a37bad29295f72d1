"""GitHub's GraphQL API (``POST /graphql``) over a ``FakeRepository``, the part Sveltia CMS uses.

Sveltia CMS reads a repository through GraphQL (the default branch, the last
commit, blob texts and per-file history in aliased batches, a commit's
statuses, deployments and checks) and saves an entry with the
``createCommitOnBranch`` mutation. The schema below is that slice of
GitHub's own (same type, field and argument names; see
https://docs.github.com/graphql), executed by graphql-core, so a query
GitHub would refuse is refused here too, with GraphQL's own errors. The same
token rules and CORS as the REST side (``fake_github_repo``) apply.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLSchema, build_schema, graphql_sync

from local.fake_github_repo import AUTHOR, CORS_ALLOW_HEADERS, DOCS, ApiAnswer, Commit, FakeRepository, StaleHead, token_of

PATH = "/graphql"
SCHEMA_SDL = """
scalar GitObjectID
scalar DateTime
scalar URI
scalar Base64String

type Query {
  repository(owner: String!, name: String!): Repository
}

type Mutation {
  createCommitOnBranch(input: CreateCommitOnBranchInput!): CreateCommitOnBranchPayload
}

type Repository {
  name: String!
  nameWithOwner: String!
  defaultBranchRef: Ref
  ref(qualifiedName: String!): Ref
  object(oid: GitObjectID, expression: String): GitObject
}

type Ref {
  name: String!
  prefix: String!
  target: GitObject
}

interface GitObject {
  oid: GitObjectID!
}

type Commit implements GitObject {
  oid: GitObjectID!
  message: String!
  committedDate: DateTime!
  author: GitActor
  history(first: Int, path: String): CommitHistoryConnection!
  file(path: String!): TreeEntry
  status: Status
  deployments(last: Int, orderBy: DeploymentOrder): DeploymentConnection
  checkSuites(last: Int): CheckSuiteConnection
}

type Status {
  contexts: [StatusContext!]!
}

type StatusContext {
  context: String!
  state: String!
  targetUrl: URI
  description: String
}

enum DeploymentOrderField {
  CREATED_AT
}

enum OrderDirection {
  ASC
  DESC
}

input DeploymentOrder {
  field: DeploymentOrderField!
  direction: OrderDirection!
}

type DeploymentConnection {
  nodes: [Deployment]
}

type Deployment {
  environment: String
  latestStatus: DeploymentStatus
}

type DeploymentStatus {
  state: String!
  environmentUrl: URI
  description: String
}

type CheckSuiteConnection {
  nodes: [CheckSuite]
}

type CheckSuite {
  checkRuns(last: Int): CheckRunConnection
}

type CheckRunConnection {
  nodes: [CheckRun]
}

type CheckRun {
  name: String!
  status: String!
  conclusion: String
  detailsUrl: URI
  summary: String
}

type Blob implements GitObject {
  oid: GitObjectID!
  text: String
  byteSize: Int!
  isBinary: Boolean
  isTruncated: Boolean!
}

type TreeEntry {
  oid: GitObjectID!
  name: String!
  path: String
}

type CommitHistoryConnection {
  nodes: [Commit]
  totalCount: Int!
}

type GitActor {
  name: String
  email: String
  avatarUrl: URI!
  user: User
}

type User {
  login: String!
  databaseId: Int
}

input CreateCommitOnBranchInput {
  branch: CommittableBranch!
  expectedHeadOid: GitObjectID!
  fileChanges: FileChanges
  message: CommitMessage!
  clientMutationId: String
}

input CommittableBranch {
  repositoryNameWithOwner: String
  branchName: String
  id: ID
}

input FileChanges {
  additions: [FileAddition!]
  deletions: [FileDeletion!]
}

input FileAddition {
  path: String!
  contents: Base64String!
}

input FileDeletion {
  path: String!
}

input CommitMessage {
  headline: String!
  body: String
}

type CreateCommitOnBranchPayload {
  commit: Commit
  ref: Ref
  clientMutationId: String
}
"""


@dataclass(frozen=True)
class _User:
    login: str
    databaseId: int  # noqa: N815 - GitHub's field name


class _CommitNode:
    typename = "Commit"

    def __init__(self, api: FakeGraphQL, commit: Commit) -> None:
        self._api, self._commit = api, commit
        self.oid, self.message, self.committedDate = commit.sha, commit.message, commit.date

    @property
    def author(self) -> dict[str, Any]:
        repository = self._api.repository
        return {
            "name": AUTHOR["name"],
            "email": AUTHOR["email"],
            "avatarUrl": f"{self._api.base_url}/avatars/{repository.owner}",
            "user": _User(repository.owner, 583231),
        }

    def history(self, info: Any, first: int | None = None, path: str | None = None) -> dict[str, Any]:
        commits = self._api.repository.history
        upto = [c for c in reversed(commits[: commits.index(self._commit) + 1])]
        if path is not None:
            path = path.strip("/")
            upto = [c for c in upto if any(p == path or p.startswith(path + "/") for p in c.changed)]
        return {"nodes": [_CommitNode(self._api, c) for c in upto[:first]], "totalCount": len(upto)}

    # A repository without CI: no statuses, deployments or check suites (Sveltia CMS asks, to link a preview).
    status = None

    def deployments(self, info: Any, last: int | None = None, orderBy: Any = None) -> dict[str, Any]:  # noqa: N803
        return {"nodes": []}

    def checkSuites(self, info: Any, last: int | None = None) -> dict[str, Any]:  # noqa: N802
        return {"nodes": []}

    def file(self, info: Any, path: str) -> dict[str, Any] | None:
        if self._commit is not self._api.repository.head:
            return None
        sha = self._api.repository.paths.get(path.strip("/"))
        return None if sha is None else {"oid": sha, "name": path.rsplit("/", 1)[-1], "path": path}


class _BlobNode:
    typename = "Blob"

    def __init__(self, sha: str, data: bytes) -> None:
        self.oid, self.byteSize, self.isTruncated = sha, len(data), False
        try:
            self.text, self.isBinary = data.decode("utf-8"), False
        except UnicodeDecodeError:
            self.text, self.isBinary = None, True


class _RepositoryNode:
    def __init__(self, api: FakeGraphQL) -> None:
        self._api = api
        self.name = api.repository.name
        self.nameWithOwner = api.repository.full_name

    def _branch(self) -> dict[str, Any]:
        return {"name": self._api.repository.branch, "prefix": "refs/heads/", "target": _CommitNode(self._api, self._api.repository.head)}

    @property
    def defaultBranchRef(self) -> dict[str, Any]:  # noqa: N802 - GitHub's field name
        return self._branch()

    def ref(self, info: Any, qualifiedName: str) -> dict[str, Any] | None:  # noqa: N803
        branch = self._api.repository.branch
        return self._branch() if qualifiedName in (branch, f"refs/heads/{branch}") else None

    def object(self, info: Any, oid: str | None = None, expression: str | None = None) -> Any:
        repository = self._api.repository
        if oid is None:
            return None
        commit = next((c for c in repository.history if c.sha == oid), None)
        if commit is not None:
            return _CommitNode(self._api, commit)
        data = repository.blobs.get(oid)
        return None if data is None else _BlobNode(oid, data)


class _Root:
    """``Query``'s fields."""

    def __init__(self, api: FakeGraphQL) -> None:
        self._api = api

    def repository(self, info: Any, owner: str, name: str) -> _RepositoryNode | None:
        repository = self._api.repository
        if (owner.lower(), name.lower()) != (repository.owner.lower(), repository.name.lower()):
            return None
        return _RepositoryNode(self._api)


class FakeGraphQL:
    """``POST /graphql`` for the one repository; plugs into ``FakeProvider.api_extensions`` next to it."""

    def __init__(self, repository: FakeRepository, base_url: str) -> None:
        self.repository = repository
        self.base_url = base_url
        self.schema: GraphQLSchema = build_schema(SCHEMA_SDL)
        self.schema.type_map["GitObject"].resolve_type = lambda value, info, abstract: value.typename  # type: ignore[attr-defined]
        self.schema.mutation_type.fields["createCommitOnBranch"].resolve = self._create_commit  # type: ignore[union-attr]

    def answer(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes = b"") -> ApiAnswer | None:
        if path != PATH:
            return None
        cors = self.repository.cors(headers.get("origin"))
        if method == "OPTIONS":
            extra = {"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS} if cors else {}
            return ApiAnswer(204, None, {**cors, **extra})
        if method != "POST":
            return ApiAnswer(404, {"message": "Not Found", "documentation_url": DOCS}, cors)
        token = token_of(headers.get("authorization", ""))
        if token is None or not self.repository.token_is_valid(token):
            return ApiAnswer(401, {"message": "Bad credentials", "documentation_url": DOCS}, cors)
        try:
            request = json.loads(body)
            document, variables = request["query"], request.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return ApiAnswer(400, {"message": "Problems parsing JSON", "documentation_url": DOCS}, cors)
        result = graphql_sync(self.schema, document, root_value=_Root(self), variable_values=variables)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [error.formatted for error in result.errors]
        return ApiAnswer(200, answer, cors)

    def _create_commit(self, root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002 - GitHub's argument
        repository = self.repository
        branch = input["branch"]
        if (branch.get("repositoryNameWithOwner") or "").lower() != repository.full_name.lower() or branch.get("branchName") != repository.branch:
            raise ValueError(f"Could not resolve to a branch {branch.get('branchName')!r} of {branch.get('repositoryNameWithOwner')!r}")
        changes = input.get("fileChanges") or {}
        try:
            additions = {a["path"]: base64.b64decode(a["contents"], validate=True) for a in changes.get("additions") or []}
        except binascii.Error:
            raise ValueError("contents must be base64") from None
        deletions = tuple(d["path"] for d in changes.get("deletions") or [])
        message = input["message"]["headline"] + (f"\n\n{input['message']['body']}" if input["message"].get("body") else "")
        try:
            commit = repository.commit(additions, deletions, message, input["expectedHeadOid"])
        except StaleHead as error:
            raise ValueError(str(error)) from None
        return {"commit": _CommitNode(self, commit), "ref": _RepositoryNode(self)._branch()}
