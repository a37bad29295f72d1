"""The components as an installable package: pip installs them from a git URL, with function/ and site/ inside."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.stack_mocks import ROOT, TEST_CLIENT_ID, TEST_SECRET

HARNESS = Path(__file__).resolve().parent / "run_as_pulumi.py"
EXISTING_PROGRAM = Path(__file__).resolve().parent / "existing_program" / "__main__.py"


def _git(*args: str, cwd: Path) -> str:
    env = os.environ | {
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install git+file://<a clone of this working tree>`` into an empty target folder."""
    repository = tmp_path_factory.mktemp("repository")
    files = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (repository / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repository / name)
    _git("init", "-q", cwd=repository)
    _git("add", "-A", cwd=repository)
    _git("commit", "-q", "-m", "snapshot", cwd=repository)
    target = tmp_path_factory.mktemp("site-packages")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
    result = subprocess.run(
        [*command, f"git+file://{repository}"], capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return target


def test_the_package_installs_under_its_own_import_name(installed: Path) -> None:
    assert (installed / "oauth_exchange" / "component.py").is_file()
    assert not (installed / "infra").exists()
    metadata = next(installed.glob("oauth_exchange-*.dist-info")) / "METADATA"
    requires = [line for line in metadata.read_text().splitlines() if line.startswith("Requires-Dist:")]
    assert any(line.startswith("Requires-Dist: pulumi-aws") for line in requires)
    assert any(line.startswith("Requires-Dist: pulumi>") or line.startswith("Requires-Dist: pulumi<") for line in requires)


def test_the_function_and_the_demo_site_ship_as_package_data(installed: Path) -> None:
    package = installed / "oauth_exchange"
    for name in ("handler.py", "exchange.py", "requirements.txt"):
        assert (package / "function" / name).read_bytes() == (ROOT / "function" / name).read_bytes()
    for name in ("index.html", "oauth.js", "app.js"):
        assert (package / "site" / name).read_bytes() == (ROOT / "site" / name).read_bytes()
    assert not (package / "site" / "config.js").exists()


def test_the_installed_package_finds_its_own_function_and_site(installed: Path) -> None:
    probe = (
        "import json; from oauth_exchange.assets import function_dir, demo_site_dir; "
        "from oauth_exchange.packaging import source_files; "
        "print(json.dumps([str(function_dir()), str(demo_site_dir()), [n for n, _ in source_files(function_dir())]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed.parent,
        env=os.environ | {"PYTHONPATH": str(installed)},
    )
    function, site, sources = json.loads(result.stdout)
    assert function == str(installed / "oauth_exchange" / "function")
    assert site == str(installed / "oauth_exchange" / "site")
    assert "handler.py" in sources and "requirements.txt" not in sources
    assert not [name for name in sources if "__pycache__" in name]


def test_a_second_program_deploys_with_the_installed_package(installed: Path) -> None:
    """The existing-site program of test_existing_program, run as pulumi would, importing only the install."""
    config = {
        "aws:region": "us-east-1",
        "my-app:githubClientId": TEST_CLIENT_ID,
        "my-app:oauthClientSecrets": json.dumps({"github": TEST_SECRET}),
    }
    env = os.environ | {
        "PYTHONPATH": str(installed),
        "PULUMI_CONFIG": json.dumps(config),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps(["my-app:oauthClientSecrets"]),
    }
    probe = "import oauth_exchange, sys; print(oauth_exchange.__file__)"
    where = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert where.stdout.strip() == str(installed / "oauth_exchange" / "__init__.py")
    result = subprocess.run(
        [sys.executable, str(HARNESS), str(EXISTING_PROGRAM)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)
    assert outputs["functionUrl"].endswith(".lambda-url.us-east-1.on.aws/")
    assert outputs["spaConfig"]["providers"][0]["clientId"] == TEST_CLIENT_ID
    assert TEST_SECRET not in result.stdout + result.stderr
