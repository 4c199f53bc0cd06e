"""The set-up files agree: pyproject.toml, environment.yml, constraints.txt, README, .ci/run."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_packages_as_pyproject():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_list = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_list
    assert {_name(d) for d in deps} == {_name(d) for d in pip_list if d != "-e ."}
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"] if isinstance(d, str))


def test_constraints_pin_every_dependency_and_the_cpu_torch():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_name(name)] = version
    assert pins["torch"] == "2.13.0"  # the local CPU build; a newer torch pulls CUDA packages
    assert "torchvision" not in pins
    deps = deps + tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    missing = {_name(d) for d in deps} - set(pins)
    assert not missing, f"constraints.txt does not pin {missing}"


def test_ci_runs_the_readme_test_command():
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith(("#", "set ", "cd "))]
    # Chromium for the browser test, installed when missing, then the README's commands
    assert commands == ["command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }", "make test", "make test-seeds"]
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme and "make test-seeds" in readme


def test_every_chapter_is_in_the_toc_and_vice_versa():
    toc = yaml.safe_load((ROOT / "toc.yml").read_text())
    listed = {entry["file"] for entry in toc["chapters"]}
    on_disk = {f"chapters/{p.stem}" for p in (ROOT / "chapters").glob("*.ipynb")}
    assert listed == on_disk
