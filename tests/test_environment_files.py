"""requirements.txt (pip) and environment.yml (conda) must describe the same environment."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> pip name


def parse(lines):
    specs = {}
    for line in lines:
        line = line.split("#")[0].strip().lstrip("- ").strip()
        if not line or line in {"pip"} or line.startswith("python"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", line)
        assert match, f"cannot parse requirement {line!r}"
        name, spec = match.group(1).lower(), match.group(2).replace(" ", "")
        specs[CONDA_NAMES.get(name, name)] = spec
    return specs


def requirements():
    return parse((ROOT / "requirements.txt").read_text().splitlines())


def conda_environment():
    text = (ROOT / "environment.yml").read_text()
    block = text.split("dependencies:", 1)[1]
    return parse(line for line in block.splitlines() if line.strip().startswith("- "))


def test_same_packages_and_ranges():
    pip, conda = requirements(), conda_environment()
    assert pip.keys() == conda.keys(), (
        f"only in requirements.txt: {sorted(pip.keys() - conda.keys())}; "
        f"only in environment.yml: {sorted(conda.keys() - pip.keys())}"
    )
    differing = {name: (pip[name], conda[name]) for name in pip if pip[name] != conda[name]}
    assert not differing, f"version ranges differ (pip, conda): {differing}"


def test_no_exact_pins_on_torch_or_numpy():
    for name, spec in requirements().items():
        if name in {"torch", "torchvision", "numpy"}:
            assert "==" not in spec and spec.startswith(">="), f"{name}{spec} must be a lower bound"


def test_environment_yml_requires_python_310():
    assert "python>=3.10" in (ROOT / "environment.yml").read_text().replace(" ", "")


def package_floors():
    """The lower bounds `course-utils` itself declares (pyproject.toml), extras included."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return parse(lines)


def test_package_floors_match_the_environment():
    """pyproject's floors are the environment's: the package must not claim an older torch than
    the code works with (it uses torch.amp.GradScaler and is_bf16_supported(including_emulation=))."""
    pip = requirements()
    for name, spec in package_floors().items():
        assert pip.get(name) == spec, f"pyproject says {name}{spec!r}, requirements.txt {name}{pip.get(name)}"
    assert package_floors()["torch"] == ">=2.4"
