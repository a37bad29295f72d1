"""site/oauth.d.ts describes oauth.js exactly, and the package resolves as an app would install it.

``scripts/test`` installs TypeScript from the npm registry into
``tests/typescript/node_modules`` (``npm ci``, from the committed lockfile), with
``site/`` linked in as ``@oauth-exchange/client``, so every check here goes
through the package's ``exports`` as a Vite or Node app's import would.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from exchange_errors import STATUS_BY_ERROR
from oauth_exchange.settings import load_settings
from oauth_exchange.spa_config import spa_config

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SITE = REPO / "site"
TSC = HERE / "node_modules" / ".bin" / "tsc"
TSC_TIMEOUT_SECONDS = 120
ERROR_LINE = re.compile(r"^(?P<file>[^\s(]+)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+):", re.MULTILINE)
EXPECT_MARKER = re.compile(r"^\s*// expect (TS\d+):")


@pytest.fixture(scope="module")
def tsc() -> Path:
    if not TSC.exists():
        pytest.fail(f"{TSC.relative_to(REPO)} is missing: scripts/test installs it (npm ci --prefix tests/typescript)")
    return TSC


def run_tsc(tsc: Path, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tsc), "-p", str(project), "--pretty", "false"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=TSC_TIMEOUT_SECONDS,
    )


def expected_errors(source: Path) -> set[tuple[int, str]]:
    """(line, code) for the code line after each ``// expect TSnnnn:`` marker."""
    expected = set()
    lines = source.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        marker = EXPECT_MARKER.match(line)
        if marker:
            target = next(n for n in range(number + 1, len(lines) + 1) if not lines[n - 1].strip().startswith("//"))
            expected.add((target, marker.group(1)))
    return expected


def ts_union(names: list[str]) -> str:
    return " | ".join(json.dumps(name) for name in sorted(set(names))) or "never"


def oauth_js_error_codes() -> list[str]:
    """The keys of oauth.js's MESSAGES table: every code an OAuthError can carry with a message of its own."""
    source = (SITE / "oauth.js").read_text(encoding="utf-8")
    table = source[source.index("const MESSAGES = {") : source.index("};", source.index("const MESSAGES = {"))]
    return re.findall(r"^\s+([a-z_]+):", table, re.MULTILINE)


def generated_config() -> dict:
    settings = load_settings({"providers": {"github": {"clientId": "Ov23liAbCdEfGh123456"}}}, {"github"})
    return spa_config(settings, "https://abc.lambda-url.eu-west-1.on.aws/")


def test_the_package_resolves_to_the_module_and_its_declarations():
    manifest = json.loads((SITE / "package.json").read_text(encoding="utf-8"))
    assert manifest["type"] == "module"
    assert manifest["exports"]["."] == {"types": "./oauth.d.ts", "default": "./oauth.js"}
    assert manifest["types"] == "./oauth.d.ts"
    assert manifest["license"] == "Apache-2.0"
    for name in manifest["files"]:
        assert (SITE / name).is_file(), name
    linked = HERE / "node_modules" / "@oauth-exchange" / "client"
    assert linked.resolve() == SITE, "tests/typescript installs site/ as the package (file:../../site)"


def test_a_typed_app_using_the_whole_api_type_checks(tsc):
    result = run_tsc(tsc, HERE / "tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_the_vite_react_example_type_checks(tsc):
    result = run_tsc(tsc, HERE / "vite-app" / "tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_misuse_fails_to_type_check_on_exactly_the_marked_lines(tsc):
    """Were the declarations ``any`` (or missing), tsc would accept these lines or fail elsewhere."""
    source = HERE / "negative" / "misuse.ts"
    expected = expected_errors(source)
    assert len(expected) >= 10
    result = run_tsc(tsc, HERE / "negative" / "tsconfig.json")
    assert result.returncode != 0
    found = {(int(m["line"]), m["code"]) for m in ERROR_LINE.finditer(result.stdout) if m["file"].endswith("misuse.ts")}
    others = [m.group(0) for m in ERROR_LINE.finditer(result.stdout) if not m["file"].endswith("misuse.ts")]
    assert others == []
    assert found == expected, result.stdout


def test_the_declarations_name_exactly_what_the_module_exposes(tsc, tmp_path):
    probe = subprocess.run(
        ["node", str(HERE / "runtime" / "probe.mjs")], cwd=HERE, capture_output=True, text=True, timeout=60, check=True
    )
    runtime = json.loads(probe.stdout)
    config = generated_config()
    function_codes = list(STATUS_BY_ERROR)
    client_codes = [code for code in oauth_js_error_codes() if code not in STATUS_BY_ERROR]
    assert set(function_codes) <= set(oauth_js_error_codes()), "oauth.js has a message for every code the function returns"
    facts = {
        "Exports": runtime["exports"],
        "ClientMembers": runtime["client"],
        "SessionFields": runtime["session"],
        "SignOutFields": runtime["signOut"],
        "ConfigFields": list(config),
        "ProviderFields": list(config["providers"][0]),
        "FunctionErrorCodes": function_codes,
        "ClientErrorCodes": client_codes,
    }
    declarations = "declare namespace Runtime {\n" + "".join(
        f"  type {name} = {ts_union(values)};\n" for name, values in facts.items()
    ) + "}\n"
    (tmp_path / "runtime.d.ts").write_text(declarations, encoding="utf-8")
    (tmp_path / "tsconfig.json").write_text(
        json.dumps(
            {
                "extends": str(HERE / "tsconfig.json"),
                "include": [],
                "files": [str(HERE / "runtime" / "matches.ts"), str(tmp_path / "runtime.d.ts")],
            }
        ),
        encoding="utf-8",
    )
    result = run_tsc(tsc, tmp_path / "tsconfig.json")
    assert result.returncode == 0, result.stdout + "\nwhat the module exposes:\n" + declarations
