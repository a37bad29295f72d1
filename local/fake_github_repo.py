"""A git repository served the way GitHub's REST API serves one, for the fake GitHub.

Enough of the API for Decap CMS (and other git-based CMSs) to sign in and show
a collection: ``GET /repos/{owner}/{repo}`` (with the caller's
``permissions``), ``branches/{branch}``, ``git/trees/{sha or ref:path}``
(``recursive=1`` too), ``git/blobs/{sha}``, ``commits?path=&sha=``,
``contents/{path}``, ``git/refs/heads/{branch}``, and CORS for browser
callers as api.github.com answers it. Object ids are real git SHA-1s of the
files, trees and commit, so paths and ids agree as on GitHub.

Every request needs a token the fake provider issued (``token`` or
``Bearer``); a bad one is ``401 Bad credentials``, none is ``404`` (a
private repository, as GitHub hides it). It plugs into ``FakeProvider``
through ``api_extensions``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

DOCS = "https://docs.github.com/rest"
CORS_ALLOW_HEADERS = (
    "Authorization, Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since, "
    "Accept-Encoding, X-GitHub-OTP, X-Requested-With, User-Agent, X-GitHub-Api-Version, Accept"
)
CORS_EXPOSE_HEADERS = "ETag, Link, Location, X-GitHub-Media-Type, X-RateLimit-Limit, X-RateLimit-Remaining"
AUTHOR = {"name": "The Octocat", "email": "octocat@example.com", "date": "2026-01-15T09:30:00Z"}

DEMO_FILES: Mapping[str, str] = {
    "README.md": "# Website\n\nContent managed with Decap CMS.\n",
    "content/posts/hello-world.md": "---\ntitle: Hello, world\ndate: 2026-01-15T09:30:00Z\n---\nThe first post.\n",
    "content/posts/signed-in-through-the-function.md": (
        "---\ntitle: Signed in through the function\ndate: 2026-01-16T10:00:00Z\n---\n"
        "This CMS got its GitHub token from oauth-exchange.\n"
    ),
    "static/images/.gitkeep": "",
}


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


class FakeRepository:
    """``owner/name`` at one commit on ``branch``; ``files`` maps paths to their text."""

    def __init__(
        self,
        owner: str = "octocat",
        name: str = "website",
        *,
        branch: str = "main",
        files: Mapping[str, str] = DEMO_FILES,
        push: bool = True,
        allowed_origins: Callable[[], list[str]] = list,
        token_is_valid: Callable[[str], bool] = lambda token: False,
    ) -> None:
        self.owner, self.name, self.branch, self.push = owner, name, branch, push
        self.allowed_origins = allowed_origins
        self.token_is_valid = token_is_valid
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, dict[str, _Entry]] = {}
        self.root_tree = self._tree({path: text.encode() for path, text in files.items()})
        self.commit_sha = _git_sha("commit", self._commit_object())
        self.paths = {path: self._find(path) for path in files}

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    # -- what the fake's request routing calls -----------------------------------

    def answer(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> ApiAnswer | None:
        """The answer for a request under ``/repos/{owner}/{name}``, or None for anything else."""
        prefix = f"/repos/{self.full_name}"
        if path != prefix and not path.startswith(prefix + "/"):
            return None
        cors = self._cors(headers.get("origin"))
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
        if method != "GET":
            return ApiAnswer(404, {"message": "Not Found", "documentation_url": DOCS}, cors)
        token = _token(headers.get("authorization", ""))
        if token is None:
            return ApiAnswer(404, {"message": "Not Found", "documentation_url": DOCS}, cors)
        if not self.token_is_valid(token):
            return ApiAnswer(401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, cors)
        body = self._resource(path[len(prefix) :], query)
        if body is None:
            return ApiAnswer(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, cors)
        etag = '"' + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest() + '"'
        return ApiAnswer(200, body, {**cors, "ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60"})

    # -- the API's resources ---------------------------------------------------

    def _resource(self, rest: str, query: Mapping[str, str]) -> Any:
        rest = unquote(rest)
        if rest == "":
            return self._repository()
        if rest == f"/branches/{self.branch}":
            return {"name": self.branch, "commit": self._commit(), "protected": False}
        if rest == f"/git/refs/heads/{self.branch}":
            return {"ref": f"refs/heads/{self.branch}", "object": {"type": "commit", "sha": self.commit_sha}}
        if rest == "/commits":
            if query.get("sha", self.branch) not in (self.branch, self.commit_sha):
                return None
            path = query.get("path", "").strip("/")
            return [self._commit()] if not path or path in self.paths or self._folder(path) else []
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

    def _commit(self) -> dict[str, Any]:
        return {
            "sha": self.commit_sha,
            "commit": {
                "author": AUTHOR,
                "committer": AUTHOR,
                "message": "Initial content",
                "tree": {"sha": self.root_tree},
            },
            "author": {"login": self.owner},
            "parents": [],
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

    def _commit_object(self) -> bytes:
        who = f"{AUTHOR['name']} <{AUTHOR['email']}> 1768469400 +0000"
        return f"tree {self.root_tree}\nauthor {who}\ncommitter {who}\n\nInitial content\n".encode()

    def _find(self, path: str) -> str:
        *folders, name = path.split("/")
        tree = self.root_tree
        for folder in folders:
            tree = self.trees[tree][folder].sha
        return self.trees[tree][name].sha

    def _folder(self, path: str) -> str | None:
        tree = self.root_tree
        for folder in [part for part in path.split("/") if part]:
            entry = self.trees[tree].get(folder)
            if entry is None or entry.kind != "tree":
                return None
            tree = entry.sha
        return tree

    def _cors(self, origin: str | None) -> dict[str, str]:
        if origin is None or origin not in self.allowed_origins():
            return {}
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS, "Vary": "Origin"}


def _token(authorization: str) -> str | None:
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
