"""Every link in the repository's documents and comments resolves inside a fresh clone.

A fresh clone has nothing beside it, so a relative link must land on a file (and,
with ``#anchor``, a heading) inside the repository, and a source comment that
names a ``.md`` file must name one the repository has. Repository paths quoted in
the README and the docs pages (``site/oauth.js``, ``scripts/smoke``) must exist too.
The README is the front door: at most ``README_MAX_LINES`` lines, and every docs
page is linked from it and from the ``docs/README.md`` index.
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

README_MAX_LINES = 300
DOCS_INDEX = "docs/README.md"

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


def docs_pages(root: Path = REPO) -> list[Path]:
    """The Markdown pages under ``docs/`` of ``root``, the index aside."""
    return sorted(path for path in (root / "docs").rglob("*.md") if path != root / DOCS_INDEX)


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


def linked_pages(document: Path, root: Path = REPO) -> set[str]:
    """The repository files ``document``'s relative links land on, as paths relative to ``root``."""
    pages = set()
    for target in links(document.read_text(encoding="utf-8")):
        path_part = target.partition("#")[0].split("?", 1)[0]
        if is_external(target) or not path_part:
            continue
        destination = (document.parent / path_part).resolve()
        if destination.is_relative_to(root.resolve()) and destination.is_file():
            pages.add(destination.relative_to(root.resolve()).as_posix())
    return pages


def unlinked_pages(root: Path = REPO) -> dict[str, list[str]]:
    """Per front page (the README, the docs index), the docs pages it does not link to."""
    pages = [page.resolve().relative_to(root.resolve()).as_posix() for page in docs_pages(root)]
    return {front: sorted(set(pages) - linked_pages(root / front, root)) for front in ("README.md", DOCS_INDEX)}


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


def quoted_repository_paths(markdown: str) -> set[str]:
    """Repository paths a document quotes in code spans or in the commands of its code blocks."""
    quoted = re.findall(r"`([^`\n]+)`", FENCE.sub("", markdown))
    commands = [line.split("#", 1)[0] for block in FENCE.finditer(markdown) for line in block.group(0).splitlines()]
    words = [word for text in quoted + commands for word in text.split()]
    return {match.group(1).rstrip(".,:;") for word in words if (match := REPO_PATH.match(word))}


@pytest.mark.parametrize(
    "document", [REPO / "README.md", REPO / DOCS_INDEX, *docs_pages()], ids=lambda p: p.relative_to(REPO).as_posix()
)
def test_repository_paths_quoted_in_the_readme_and_the_docs_exist(document):
    quoted = quoted_repository_paths(document.read_text(encoding="utf-8"))
    assert sorted(path for path in quoted if not (REPO / path).exists()) == []


def test_the_readme_names_repository_files():
    assert {"scripts/run-local", "scripts/smoke", "function/handler.py"} <= quoted_repository_paths(
        (REPO / "README.md").read_text(encoding="utf-8")
    )


def test_the_readme_is_a_front_door_of_at_most_300_lines():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into a page under docs/"


def test_the_docs_have_an_index_and_pages():
    assert (REPO / DOCS_INDEX).is_file()
    names = {page.relative_to(REPO).as_posix() for page in docs_pages()}
    assert {"docs/configuration.md", "docs/http-api.md", "docs/security.md", "docs/development.md"} <= names


def test_every_docs_page_is_linked_from_the_readme_and_from_the_docs_index():
    assert unlinked_pages() == {"README.md": [], DOCS_INDEX: []}


def test_the_project_layout_names_every_other_docs_page():
    layout = REPO / "docs/development.md"
    others = {page.relative_to(REPO).as_posix() for page in docs_pages() if page != layout}
    assert sorted(others - linked_pages(layout)) == []


def test_the_project_layout_names_every_module_of_the_package():
    """A reader finds each derived value's module by name in the layout (the package is split by concern)."""
    layout = INLINE_CODE.findall((REPO / "docs/development.md").read_text(encoding="utf-8"))
    named = {Path(span.strip("`")).name for span in layout}
    modules = {module.name for module in (REPO / "infra/oauth_exchange").glob("*.py") if module.name != "__init__.py"}
    assert sorted(modules - named) == []


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


def write_repo(root: Path, readme: str, index: str, pages: tuple[str, ...]) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "README.md").write_text(readme, encoding="utf-8")
    (root / DOCS_INDEX).write_text(index, encoding="utf-8")
    for page in pages:
        (root / "docs" / page).write_text(f"# {page}\n", encoding="utf-8")
    return root


def test_a_page_linked_from_both_front_pages_is_reachable(tmp_path):
    root = write_repo(
        tmp_path,
        readme="[Session](docs/session-mode.md#how) and [index](docs/README.md)\n",
        index="[Session](session-mode.md)\n",
        pages=("session-mode.md",),
    )
    assert unlinked_pages(root) == {"README.md": [], DOCS_INDEX: []}


@pytest.mark.parametrize(
    "readme, index",
    [
        ("[Session](docs/Session-mode.md)\n", "[Session](session-mode.md)\n"),
        ("`[Session](docs/session-mode.md)`\n", "[Session](session-mode.md)\n"),
        ("```\n[Session](docs/session-mode.md)\n```\n", "[Session](session-mode.md)\n"),
        ("[Session](docs/session-mode.md.bak)\n", "[Session](session-mode.md)\n"),
        ("[Session](https://example.com/docs/session-mode.md)\n", "[Session](session-mode.md)\n"),
        ("docs/session-mode.md, named but not linked\n", "[Session](session-mode.md)\n"),
    ],
    ids=["other-case", "in-code", "in-a-fence", "near-miss-name", "external", "named-not-linked"],
)
def test_a_page_the_readme_does_not_really_link_is_reported(tmp_path, readme, index):
    root = write_repo(tmp_path, readme=readme, index=index, pages=("session-mode.md",))
    assert unlinked_pages(root) == {"README.md": ["docs/session-mode.md"], DOCS_INDEX: []}


def test_a_page_missing_from_the_docs_index_is_reported(tmp_path):
    root = write_repo(
        tmp_path,
        readme="[Cost](docs/cost.md) [Session](docs/session-mode.md)\n",
        index="[Session](session-mode.md) [Cost](../docs/cost.md#top) [a sibling](../cost.md)\n",
        pages=("session-mode.md", "cost.md", "benchmarks.md"),
    )
    assert unlinked_pages(root) == {"README.md": ["docs/benchmarks.md"], DOCS_INDEX: ["docs/benchmarks.md"]}


def test_quoted_paths_are_read_from_code_spans_and_commands_not_prose():
    markdown = "Run `scripts/smoke --stack prod`, see site/app.js.\n```sh\nscripts/test tests/docs  # bench/x.py\n```\n"
    assert quoted_repository_paths(markdown) == {"scripts/smoke", "scripts/test", "tests/docs"}
