"""The components as an installable package: installed with its dependencies, function/ and site/ inside."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.infra.stack_mocks import ROOT, TEST_CLIENT_ID, TEST_SECRET
from tests.install.environments import clean_env, copy_checkout, install, new_environment, run, site_packages

HARNESS = ROOT / "tests" / "infra" / "run_as_pulumi.py"
EXISTING_PROGRAM = ROOT / "tests" / "infra" / "existing_program" / "__main__.py"


@dataclass(frozen=True)
class Installed:
    python: Path
    site_packages: Path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """``pip install <checkout>`` with its dependencies, as the README shows it, into an environment of its own."""
    repository = copy_checkout(tmp_path_factory.mktemp("repository"))
    python = new_environment(tmp_path_factory.mktemp("user") / "venv")
    install(python, str(repository))
    return Installed(python, site_packages(python))


def test_the_package_installs_under_its_own_import_name_with_its_dependencies(installed: Installed) -> None:
    site = installed.site_packages
    assert (site / "oauth_exchange" / "component.py").is_file()
    assert not (site / "infra").exists()
    metadata = next(site.glob("oauth_exchange-*.dist-info")) / "METADATA"
    requires = {line.split()[1] for line in metadata.read_text().splitlines() if line.startswith("Requires-Dist:")}
    assert {"pulumi", "pulumi-aws", "pulumi-random", "pip"} <= {name.split("<")[0].split(">")[0] for name in requires}


def test_the_function_and_the_demo_site_ship_as_package_data(installed: Installed) -> None:
    package = installed.site_packages / "oauth_exchange"
    for name in ("handler.py", "exchange.py", "requirements.txt"):
        assert (package / "function" / name).read_bytes() == (ROOT / "function" / name).read_bytes()
    for name in ("index.html", "oauth.js", "app.js"):
        assert (package / "site" / name).read_bytes() == (ROOT / "site" / name).read_bytes()
    assert not (package / "site" / "config.js").exists()


def test_the_installed_package_finds_its_own_function_and_site(installed: Installed, tmp_path: Path) -> None:
    probe = (
        "import json; from oauth_exchange.assets import function_dir, demo_site_dir; "
        "from oauth_exchange.packaging import source_files; "
        "print(json.dumps([str(function_dir()), str(demo_site_dir()), [n for n, _ in source_files(function_dir())]]))"
    )
    function, site, sources = json.loads(run([str(installed.python), "-c", probe], cwd=tmp_path))
    assert function == str(installed.site_packages / "oauth_exchange" / "function")
    assert site == str(installed.site_packages / "oauth_exchange" / "site")
    assert "handler.py" in sources and "requirements.txt" not in sources
    assert not [name for name in sources if "__pycache__" in name]


def test_a_users_program_deploys_with_the_installed_package_alone(installed: Installed, tmp_path: Path) -> None:
    """The existing-site program of test_existing_program, run as pulumi would in the user's own folder."""
    project = tmp_path / "my-app"
    project.mkdir()
    shutil.copy(EXISTING_PROGRAM, project / "__main__.py")
    config = {
        "aws:region": "us-east-1",
        "my-app:githubClientId": TEST_CLIENT_ID,
        "my-app:oauthClientSecrets": json.dumps({"github": TEST_SECRET}),
    }
    env = clean_env(
        PULUMI_CONFIG=json.dumps(config), PULUMI_CONFIG_SECRET_KEYS=json.dumps(["my-app:oauthClientSecrets"])
    )
    where = run([str(installed.python), "-c", "import oauth_exchange; print(oauth_exchange.__file__)"], cwd=project, env=env)
    assert where.strip() == str(installed.site_packages / "oauth_exchange" / "__init__.py")
    result = subprocess.run(
        [str(installed.python), str(HARNESS), str(project / "__main__.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)
    assert outputs["functionUrl"].endswith(".lambda-url.us-east-1.on.aws/")
    assert outputs["spaConfig"]["providers"][0]["clientId"] == TEST_CLIENT_ID
    assert TEST_SECRET not in result.stdout + result.stderr
    assert (project / ".build").is_dir(), "the component builds the function's zip in the user's project"
