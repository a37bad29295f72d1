"""Every link in the repository's documents and comments resolves inside a fresh clone.

A fresh clone has nothing beside it, so a relative link must land on a file (and,
with ``#anchor``, a heading) inside the repository, and a source comment that
names a ``.md`` file must name one the repository has. Repository paths quoted in
the README (``site/oauth.js``, ``scripts/smoke``) must exist too.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE_SUFFIXES = frozenset({".py", ".js", ".ts", ".sh", ".yaml", ".yml", ".toml", ".json", ".html", ".css"})
TOP_LEVEL_DIRS = ("site", "function", "infra", "local", "scripts", "bench", "tests", "docs", ".ci")
OTHER_REPOSITORY_FILES = frozenset({"local/fake_github_repo.py", "tests/local/test_fake_github_repo.py"})
"""They name the files of the fake GitHub's CMS repository, not of this one."""

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)=\"([^\"]+)\"", re.IGNORECASE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
MD_MENTION = re.compile(r"(?<![\w./-])((?:\.\.?/)?[\w./-]*\w\.md)\b")
REPO_PATH = re.compile(r"^(?:\./)?((?:" + "|".join(re.escape(d) for d in TOP_LEVEL_DIRS) + r")/[\w./-]*)$")


def repo_files(suffixes: frozenset[str]) -> list[Path]:
    """The project's own files: tracked, or new and not ignored (downloads such as .cache/ are not the project's)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode().split("\0")
    paths = (REPO / name for name in sorted(filter(None, listed)))
    return [path for path in paths if path.suffix in suffixes and path.is_file()]


def markdown_files() -> list[Path]:
    return repo_files(frozenset({".md"}))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"`|\*\*|__|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(markdown: str) -> list[str]:
    prose = INLINE_CODE.sub("", FENCE.sub("", markdown))
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose) + HTML_LINK.findall(prose)


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target)) or target.startswith("//")


def broken_link(document: Path, target: str, root: Path = REPO) -> str | None:
    """Why ``target`` (a link in ``document``) does not resolve inside ``root``, or None."""
    path_part, _, anchor = target.partition("#")
    path_part = path_part.split("?", 1)[0]
    destination = (document.parent / path_part).resolve() if path_part else document
    if not destination.is_relative_to(root):
        return f"{target} leaves the repository"
    if not destination.exists():
        return f"{target}: {destination.relative_to(root)} does not exist"
    if anchor and destination.suffix == ".md" and anchor not in anchors(destination.read_text(encoding="utf-8")):
        return f"{target}: no heading with the anchor #{anchor} in {destination.relative_to(root)}"
    return None


def test_the_repository_has_documents_to_check():
    names = {path.relative_to(REPO).as_posix() for path in markdown_files()}
    assert {"README.md", "docs/http-api.md", "docs/configuration.md"} <= names


@pytest.mark.parametrize("document", markdown_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves_inside_the_repository(document):
    problems = [
        problem
        for target in links(document.read_text(encoding="utf-8"))
        if not is_external(target) and (problem := broken_link(document, target))
    ]
    assert problems == []


OUTSIDE_THE_CLONE = "/".join(("..", "shared"))
"""The steering folder beside the project: a fresh clone does not have it."""


def test_no_document_or_source_points_outside_the_clone():
    offenders = [
        path.relative_to(REPO).as_posix()
        for path in repo_files(SOURCE_SUFFIXES | {".md"})
        if path != Path(__file__) and OUTSIDE_THE_CLONE in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []


def test_markdown_files_named_in_source_comments_exist():
    known = {path.relative_to(REPO).as_posix() for path in markdown_files()}
    names = {Path(name).name for name in known}
    problems = []
    for source in repo_files(SOURCE_SUFFIXES):
        if source == Path(__file__) or source.relative_to(REPO).as_posix() in OTHER_REPOSITORY_FILES:
            continue
        for mention in MD_MENTION.findall(source.read_text(encoding="utf-8", errors="replace")):
            resolved = mention.removeprefix("./")
            if ("/" in resolved and resolved not in known) or ("/" not in resolved and resolved not in names):
                problems.append(f"{source.relative_to(REPO)}: {mention}")
    assert problems == []


def test_repository_paths_quoted_in_the_readme_exist():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quoted = re.findall(r"`([^`\n]+)`", FENCE.sub("", readme))
    commands = [line.split("#", 1)[0] for block in FENCE.finditer(readme) for line in block.group(0).splitlines()]
    words = [word for text in quoted + commands for word in text.split()]
    paths = {match.group(1).rstrip(".,:;") for word in words if (match := REPO_PATH.match(word))}
    assert paths, "the README names repository files"
    missing = sorted(path for path in paths if not (REPO / path).exists())
    assert missing == []


@pytest.mark.parametrize(
    "target, expected",
    [
        ("other.md", None),
        ("other.md#a-heading-with-code", None),
        ("#the-document", None),
        ("other.md#missing", "no heading with the anchor #missing"),
        ("sub/missing.md", "sub/missing.md does not exist"),
        ("../outside.md", "leaves the repository"),
    ],
)
def test_the_checker_tells_good_links_from_broken_ones(tmp_path, target, expected):
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "outside.md").write_text("# Outside\n", encoding="utf-8")
    (root / "other.md").write_text("# Other\n\n## A heading with `code`\n", encoding="utf-8")
    document = root / "doc.md"
    document.write_text("# The document\n", encoding="utf-8")
    problem = broken_link(document, target, root)
    assert problem is None if expected is None else expected in (problem or "")


def test_links_in_code_are_not_links():
    markdown = "[a](one.md) `[b](two.md)`\n```\n[c](three.md)\n```\n[d]: four.md\n<img src=\"five.png\">"
    assert sorted(links(markdown)) == ["five.png", "four.md", "one.md"]
