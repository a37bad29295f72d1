"""A git repository served the way GitHub's REST API serves one, for the fake GitHub.

Enough of the API for Decap CMS (and other git-based CMSs) to sign in and show
a collection: ``GET /repos/{owner}/{repo}`` (with the caller's
``permissions``), ``branches/{branch}``, ``git/trees/{sha or ref:path}``
(``recursive=1`` too), ``git/blobs/{sha}``, ``commits?path=&sha=``,
``contents/{path}``, ``git/refs/heads/{branch}``,
``collaborators/{user}`` (Sveltia CMS's access check), and CORS for browser
callers as api.github.com answers it. Object ids are real git SHA-1s of the
files, trees and commits, so paths and ids agree as on GitHub. ``commit``
adds a commit on the branch, as GraphQL's ``createCommitOnBranch`` does
(``local.fake_github_graphql``); ``history`` keeps every one.

Every request needs a token the fake provider issued (``token`` or
``Bearer``); a bad one is ``401 Bad credentials``, none is ``404`` (a
private repository, as GitHub hides it). It plugs into ``FakeProvider``
through ``api_extensions``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

DOCS = "https://docs.github.com/rest"
CORS_ALLOW_HEADERS = (
    "Authorization, Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since, "
    "Accept-Encoding, X-GitHub-OTP, X-Requested-With, User-Agent, X-GitHub-Api-Version, Accept"
)
CORS_EXPOSE_HEADERS = "ETag, Link, Location, X-GitHub-Media-Type, X-RateLimit-Limit, X-RateLimit-Remaining"
AUTHOR = {"name": "The Octocat", "email": "octocat@example.com", "date": "2026-01-15T09:30:00Z"}
INITIAL_MESSAGE = "Initial content"

DEMO_FILES: Mapping[str, str] = {
    "README.md": "# Website\n\nContent managed with Decap CMS.\n",
    "content/posts/hello-world.md": "---\ntitle: Hello, world\ndate: 2026-01-15T09:30:00Z\n---\nThe first post.\n",
    "content/posts/signed-in-through-the-function.md": (
        "---\ntitle: Signed in through the function\ndate: 2026-01-16T10:00:00Z\n---\n"
        "This CMS got its GitHub token from oauth-exchange.\n"
    ),
    "static/images/.gitkeep": "",
}


NO_CONTENT = object()
"""What a resource answers with ``204 No Content`` (a collaborator check that holds)."""


DEMO_POST = "content/posts/hello-world.md"
"""The Posts entry the CMS browser tests open, edit and save."""


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any
    """JSON-serialisable, or None for no body."""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Entry:
    mode: str
    kind: str
    sha: str
    size: int | None


@dataclass(frozen=True)
class Commit:
    """One commit on the branch: its id, tree, message and the paths it changed."""

    sha: str
    tree: str
    parent: str | None
    message: str
    date: str
    changed: frozenset[str]


class StaleHead(ValueError):
    """A commit was asked for on top of a head that is no longer the branch's."""


class FakeRepository:
    """``owner/name`` with one branch; ``files`` maps paths to their text at its first commit."""

    def __init__(
        self,
        owner: str = "octocat",
        name: str = "website",
        *,
        branch: str = "main",
        files: Mapping[str, str] = DEMO_FILES,
        push: bool = True,
        collaborators: tuple[str, ...] | None = None,
        allowed_origins: Callable[[], list[str]] = list,
        token_is_valid: Callable[[str], bool] = lambda token: False,
    ) -> None:
        self.owner, self.name, self.branch, self.push = owner, name, branch, push
        self.collaborators = tuple(c.lower() for c in (collaborators if collaborators is not None else (owner,)))
        """Logins with write access (compared case-insensitively, as GitHub does)."""
        self.allowed_origins = allowed_origins
        self.token_is_valid = token_is_valid
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, dict[str, _Entry]] = {}
        self.files = {path: text.encode() for path, text in files.items()}
        tree = self._tree(self.files)
        first = Commit(_git_sha("commit", _commit_object(tree, None, INITIAL_MESSAGE, AUTHOR["date"])), tree, None,
                       INITIAL_MESSAGE, AUTHOR["date"], frozenset(self.files))
        self.history: list[Commit] = [first]
        self.commits = {first.sha: first}
        """Every commit object, on the branch or not yet."""

    @property
    def head(self) -> Commit:
        return self.history[-1]

    @property
    def commit_sha(self) -> str:
        return self.head.sha

    @property
    def root_tree(self) -> str:
        return self.head.tree

    @property
    def paths(self) -> dict[str, str]:
        """Each file's blob id at the head."""
        return {path: _git_sha("blob", data) for path, data in self.files.items()}

    def commit(self, additions: Mapping[str, bytes], deletions: tuple[str, ...], message: str, expected_head: str) -> Commit:
        """A new commit on the branch with these changes; ``StaleHead`` unless the branch is at ``expected_head``."""
        if expected_head != self.head.sha:
            raise StaleHead(f'Expected branch to point to "{expected_head}" but it did not. Pull and try again.')
        files = {path: data for path, data in self.files.items() if path not in deletions}
        files.update(additions)
        self.move_branch(self.new_commit(self._tree(files), self.head.sha, message).sha)
        return self.head

    def new_commit(self, tree: str, parent: str | None, message: str) -> Commit:
        """A commit object (``POST git/commits``), not yet on the branch."""
        date = _now()
        before = {} if parent is None else self._files(self.commits[parent].tree)
        after = self._files(tree)
        changed = {path for path in {*before, *after} if before.get(path) != after.get(path)}
        commit = Commit(_git_sha("commit", _commit_object(tree, parent, message, date)), tree, parent, message, date, frozenset(changed))
        self.commits[commit.sha] = commit
        return commit

    def move_branch(self, sha: str) -> None:
        """Point the branch at a commit whose parent is its head (a fast forward); ``StaleHead`` otherwise."""
        commit = self.commits.get(sha)
        if commit is None or commit.parent != self.head.sha:
            raise StaleHead("Update is not a fast forward")
        self.history.append(commit)
        self.files = {path: self.blobs[blob] for path, blob in self._files(commit.tree).items()}

    def is_collaborator(self, login: str) -> bool:
        return login.lower() in self.collaborators

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    # -- what the fake's request routing calls -----------------------------------

    def answer(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes = b""
    ) -> ApiAnswer | None:
        """The answer for a request under ``/repos/{owner}/{name}``, or None for anything else."""
        prefix = f"/repos/{self.full_name}"
        if path != prefix and not path.startswith(prefix + "/"):
            return None
        cors = self.cors(headers.get("origin"))
        if method == "OPTIONS":
            if not cors:
                return ApiAnswer(204, None)
            return ApiAnswer(
                204,
                None,
                {
                    **cors,
                    "Access-Control-Allow-Methods": "GET, POST, PATCH, PUT, DELETE",
                    "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                    "Access-Control-Max-Age": "86400",
                },
            )
        if method not in ("GET", "POST", "PATCH"):
            return ApiAnswer(404, {"message": "Not Found", "documentation_url": DOCS}, cors)
        token = token_of(headers.get("authorization", ""))
        if token is None:
            return ApiAnswer(404, {"message": "Not Found", "documentation_url": DOCS}, cors)
        if not self.token_is_valid(token):
            return ApiAnswer(401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, cors)
        if method != "GET":
            return self._write(method, unquote(path[len(prefix) :]), body, cors)
        body = self._resource(path[len(prefix) :], query)
        if body is None:
            return ApiAnswer(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, cors)
        if body is NO_CONTENT:
            return ApiAnswer(204, None, cors)
        etag = '"' + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest() + '"'
        return ApiAnswer(200, body, {**cors, "ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60"})

    # -- writes: the Git Database API, as Decap and Static CMS save an entry -------

    def _write(self, method: str, rest: str, body: bytes, cors: Mapping[str, str]) -> ApiAnswer:
        unprocessable = {"message": "Invalid request.", "documentation_url": DOCS, "status": "422"}
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise ValueError
            if (method, rest) == ("POST", "/git/blobs"):
                return ApiAnswer(201, self._post_blob(request), cors)
            if (method, rest) == ("POST", "/git/trees"):
                return ApiAnswer(201, self._post_tree(request), cors)
            if (method, rest) == ("POST", "/git/commits"):
                parents = request.get("parents") or []
                if len(parents) > 1 or any(p not in self.commits for p in parents) or request.get("tree") not in self.trees:
                    return ApiAnswer(422, unprocessable, cors)
                commit = self.new_commit(request["tree"], parents[0] if parents else None, str(request["message"]))
                return ApiAnswer(201, self._commit(commit), cors)
            if (method, rest) == ("PATCH", f"/git/refs/heads/{self.branch}"):
                self.move_branch(str(request["sha"]))
                return ApiAnswer(200, {"ref": f"refs/heads/{self.branch}", "object": {"type": "commit", "sha": self.head.sha}}, cors)
        except StaleHead as error:
            return ApiAnswer(422, {**unprocessable, "message": str(error)}, cors)
        except (ValueError, KeyError, TypeError, binascii.Error):
            return ApiAnswer(422, unprocessable, cors)
        return ApiAnswer(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, cors)

    def _post_blob(self, request: Mapping[str, Any]) -> dict[str, Any]:
        content = request["content"]
        data = base64.b64decode(content, validate=False) if request.get("encoding") == "base64" else str(content).encode()
        sha = _git_sha("blob", data)
        self.blobs[sha] = data
        return {"sha": sha, "url": f"/repos/{self.full_name}/git/blobs/{sha}"}

    def _post_tree(self, request: Mapping[str, Any]) -> dict[str, Any]:
        base = request.get("base_tree")
        if base in self.commits:  # GitHub takes any tree-ish here; Decap and Static CMS send the branch's commit
            base = self.commits[base].tree
        files = {} if base is None else {path: self.blobs[sha] for path, sha in self._files(base).items()}
        for item in request["tree"]:
            path = str(item["path"]).strip("/")
            if item.get("sha") is None and "content" not in item:
                files = {p: d for p, d in files.items() if p != path and not p.startswith(path + "/")}
            elif "content" in item:
                files[path] = str(item["content"]).encode()
            else:
                files[path] = self.blobs[item["sha"]]
        sha = self._tree(files)
        return {"sha": sha, "tree": self._entries(sha, "", False), "truncated": False}

    def _files(self, tree: str, prefix: str = "") -> dict[str, str]:
        """Every file under ``tree``: path to blob id."""
        files: dict[str, str] = {}
        for name, entry in self.trees[tree].items():
            if entry.kind == "tree":
                files.update(self._files(entry.sha, f"{prefix}{name}/"))
            else:
                files[prefix + name] = entry.sha
        return files

    # -- the API's resources ---------------------------------------------------

    def _resource(self, rest: str, query: Mapping[str, str]) -> Any:
        rest = unquote(rest)
        if rest == "":
            return self._repository()
        if rest == f"/branches/{self.branch}":
            return {"name": self.branch, "commit": self._commit(self.head), "protected": False}
        if rest.startswith("/collaborators/"):
            return NO_CONTENT if self.is_collaborator(rest[len("/collaborators/") :]) else None
        if rest == f"/git/refs/heads/{self.branch}":
            return {"ref": f"refs/heads/{self.branch}", "object": {"type": "commit", "sha": self.commit_sha}}
        if rest == "/commits":
            if query.get("sha", self.branch) not in (self.branch, self.commit_sha):
                return None
            path = query.get("path", "").strip("/")
            return [self._commit(c) for c in reversed(self.history) if not path or _touches(c, path)]
        if rest.startswith("/git/trees/"):
            return self._tree_answer(rest[len("/git/trees/") :], recursive=query.get("recursive") not in (None, "", "0"))
        if rest.startswith("/git/blobs/"):
            return self._blob_answer(rest[len("/git/blobs/") :])
        if rest.startswith("/contents"):
            if query.get("ref", self.branch) not in (self.branch, self.commit_sha):
                return None
            return self._contents(rest[len("/contents") :].strip("/"))
        return None

    def _repository(self) -> dict[str, Any]:
        return {
            "id": 1296269,
            "name": self.name,
            "full_name": self.full_name,
            "owner": {"login": self.owner, "id": 583231, "type": "User"},
            "private": True,
            "default_branch": self.branch,
            "permissions": {"admin": self.push, "maintain": self.push, "push": self.push, "triage": True, "pull": True},
            "visibility": "private",
        }

    def _commit(self, commit: Commit) -> dict[str, Any]:
        author = {**AUTHOR, "date": commit.date}
        return {
            "sha": commit.sha,
            "commit": {"author": author, "committer": author, "message": commit.message, "tree": {"sha": commit.tree}},
            "author": {"login": self.owner},
            "parents": [] if commit.parent is None else [{"sha": commit.parent}],
        }

    def _tree_answer(self, tree_ish: str, *, recursive: bool) -> dict[str, Any] | None:
        ref, has_path, path = tree_ish.partition(":")
        if has_path:
            if ref not in (self.branch, self.commit_sha):
                return None
            sha = self._folder(path.strip("/"))
        elif ref in (self.branch, self.commit_sha):
            sha = self.root_tree
        else:
            sha = ref if ref in self.trees else None
        if sha is None:
            return None
        return {"sha": sha, "tree": self._entries(sha, "", recursive), "truncated": False}

    def _entries(self, sha: str, prefix: str, recursive: bool) -> list[dict[str, Any]]:
        entries = []
        for name, entry in self.trees[sha].items():
            item = {"path": prefix + name, "mode": entry.mode, "type": entry.kind, "sha": entry.sha}
            if entry.size is not None:
                item["size"] = entry.size
            entries.append(item)
            if recursive and entry.kind == "tree":
                entries.extend(self._entries(entry.sha, f"{prefix}{name}/", recursive))
        return entries

    def _blob_answer(self, sha: str) -> dict[str, Any] | None:
        data = self.blobs.get(sha)
        if data is None:
            return None
        return {"sha": sha, "size": len(data), "content": _base64_lines(data), "encoding": "base64"}

    def _contents(self, path: str) -> Any:
        if path in self.paths:
            sha = self.paths[path]
            data = self.blobs[sha]
            name = path.rsplit("/", 1)[-1]
            return {"type": "file", "name": name, "path": path, "sha": sha, "size": len(data), "encoding": "base64", "content": _base64_lines(data)}
        tree = self._folder(path) if path else self.root_tree
        if tree is None:
            return None
        return [
            {"type": "dir" if entry.kind == "tree" else "file", "name": name, "path": f"{path}/{name}".lstrip("/"), "sha": entry.sha, "size": entry.size or 0}
            for name, entry in self.trees[tree].items()
        ]

    # -- git objects -------------------------------------------------------------

    def _tree(self, files: Mapping[str, bytes]) -> str:
        """Store the tree for ``files`` (paths relative to it) and its subtrees; its SHA-1."""
        here: dict[str, _Entry] = {}
        folders: dict[str, dict[str, bytes]] = {}
        for path, data in files.items():
            head, slash, rest = path.partition("/")
            if slash:
                folders.setdefault(head, {})[rest] = data
            else:
                sha = _git_sha("blob", data)
                self.blobs[sha] = data
                here[head] = _Entry("100644", "blob", sha, len(data))
        for name, contents in folders.items():
            here[name] = _Entry("040000", "tree", self._tree(contents), None)
        ordered = dict(sorted(here.items(), key=lambda item: item[0] + ("/" if item[1].kind == "tree" else "")))
        body = b"".join(
            f"{entry.mode.lstrip('0')} {name}".encode() + b"\x00" + bytes.fromhex(entry.sha) for name, entry in ordered.items()
        )
        sha = _git_sha("tree", body)
        self.trees[sha] = ordered
        return sha

    def _folder(self, path: str) -> str | None:
        tree = self.root_tree
        for folder in [part for part in path.split("/") if part]:
            entry = self.trees[tree].get(folder)
            if entry is None or entry.kind != "tree":
                return None
            tree = entry.sha
        return tree

    def cors(self, origin: str | None) -> dict[str, str]:
        """api.github.com's CORS headers, for the origins allowed."""
        if origin is None or origin not in self.allowed_origins():
            return {}
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS, "Vary": "Origin"}


def _touches(commit: Commit, path: str) -> bool:
    return any(changed == path or changed.startswith(path + "/") for changed in commit.changed)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _commit_object(tree: str, parent: str | None, message: str, date: str) -> bytes:
    seconds = int(datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
    who = f"{AUTHOR['name']} <{AUTHOR['email']}> {seconds} +0000"
    parent_line = "" if parent is None else f"parent {parent}\n"
    return f"tree {tree}\n{parent_line}author {who}\ncommitter {who}\n\n{message}\n".encode()


def token_of(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() in ("token", "bearer") and token.strip():
        return token.strip()
    return None


def _git_sha(kind: str, body: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(body)}".encode() + b"\x00" + body).hexdigest()


def _base64_lines(data: bytes) -> str:
    """Base64 wrapped at 60 characters per line, as GitHub sends blob contents."""
    text = base64.b64encode(data).decode("ascii")
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))
