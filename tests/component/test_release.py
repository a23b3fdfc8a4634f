"""The HACS release archive: layout, a real detector copy, reproducible, importable on its own."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "scripts" / "release.py"
HACS = json.loads((ROOT / "hacs.json").read_text())
DEV_ONLY = ("__main__.py", "bench.py", "bench_skeleton.py", "cli.py", "evaluate.py", "baseline.py")


def _release_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sleep_myoclonus_release", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unmeasured_env() -> dict[str, str]:
    """The environment without pytest-cov's hooks, so a child process is not measured."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COV_CORE_")}


def _build(output: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(output), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("dist") / HACS["filename"]
    result = _build(output)
    assert result.returncode == 0, result.stderr
    assert str(output) in result.stdout
    assert f"{output.stat().st_size} bytes" in result.stdout
    return output


def test_rebuild_is_byte_identical(archive: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    assert _build(again).returncode == 0
    assert again.read_bytes() == archive.read_bytes()


def test_component_at_the_root_with_the_project_version(archive: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = zf.namelist()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert manifest["domain"] == "sleep_myoclonus"
    assert manifest["version"] == project["version"]
    for name in ("__init__.py", "config_flow.py", "diagnostics.py", "icons.json"):
        assert name in names
    assert "translations/en.json" in names
    assert "detector/__init__.py" in names
    assert not any(n.startswith(("custom_components/", "sleep_myoclonus/")) for n in names)


def test_entries_are_plain_sorted_files(archive: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    for info in infos:
        mode = info.external_attr >> 16
        assert stat.S_ISREG(mode), info.filename
        assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
        assert "__pycache__" not in info.filename
        assert not info.filename.endswith((".pyc", ".pyo")), info.filename
        assert not info.is_dir()


def test_detector_is_a_copy_without_the_development_tools(archive: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        shipped = {
            name.removeprefix("detector/"): zf.read(name)
            for name in zf.namelist()
            if name.startswith("detector/")
        }
    for name, data in shipped.items():
        assert data == (ROOT / "detector" / name).read_bytes(), name
    for name in DEV_ONLY:
        assert name not in shipped


def test_the_extracted_component_imports_without_the_repository(
    archive: Path, tmp_path: Path
) -> None:
    """Every module of the archive imports from an extraction alone, as HACS installs it."""
    component = tmp_path / "config" / "custom_components" / "sleep_myoclonus"
    component.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(component)
        modules = [
            "custom_components.sleep_myoclonus"
            + ("" if name == "__init__.py" else "." + name.removesuffix(".py").replace("/", "."))
            for name in zf.namelist()
            if name.endswith(".py") and "/" not in name
        ]
    assert not [p for p in component.rglob("*") if p.is_symlink()]
    root = component.parents[1]
    check = textwrap.dedent(
        """
        import importlib, json, sys
        from pathlib import Path

        repo, root = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
        modules = json.loads(sys.argv[3])
        sys.path[:] = [str(root)] + [
            p for p in sys.path if p and Path(p).resolve() != repo
        ]
        for module in modules:
            importlib.import_module(module)
        ours = {n: m for n, m in sys.modules.items() if n.split(".")[0] == "custom_components"}
        for name, module in ours.items():
            file = getattr(module, "__file__", None)
            assert file is None or Path(file).resolve().is_relative_to(root), (name, file)
        import custom_components.sleep_myoclonus.detector as detector
        assert Path(detector.__file__).resolve().is_relative_to(root), detector.__file__
        for outside in ("detector", "hardware", "scipy"):
            assert outside not in sys.modules, outside
        print(len(ours))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", check, str(ROOT), str(root), json.dumps(modules)],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env=unmeasured_env(),  # the extraction is not the repository's code
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > len(modules)  # the detector modules came along


def test_release_refuses_a_tag_that_is_not_the_version(tmp_path: Path) -> None:
    result = _build(tmp_path / "x.zip", "--tag", "v0.0.0-not-this")
    assert result.returncode == 1
    assert "does not match" in result.stderr
    assert not (tmp_path / "x.zip").exists()


def test_a_tag_with_the_version_is_accepted(tmp_path: Path) -> None:
    release = _release_module()
    assert _build(tmp_path / "x.zip", "--tag", f"v{release.version()}").returncode == 0


def test_development_only_imports_are_not_shippable(tmp_path: Path) -> None:
    release = _release_module()
    module = tmp_path / "tools.py"
    module.write_text("from .detector.bench import run_bench\n")  # bench needs scipy, hardware
    with pytest.raises(release.ReleaseError, match="not shippable"):
        release.detector_modules([module])
    module.write_text("from detector.events import Event\n")  # the repository's, not ours
    with pytest.raises(release.ReleaseError, match="not shippable"):
        release.detector_modules([module])
    module.write_text("from .detector.nonexistent import thing\n")
    with pytest.raises(release.ReleaseError, match="does not exist"):
        release.detector_modules([module])


def test_detector_modules_follow_imports_transitively(tmp_path: Path) -> None:
    release = _release_module()
    module = tmp_path / "m.py"
    module.write_text(
        "from .detector import topics\nfrom .detector.rate import RollingTwitchRate\n"
    )
    shipped = set(release.detector_modules([module]))
    # rate -> stream -> engine -> ... ; topics named as a submodule of the package
    assert {"detector/__init__.py", "detector/topics.py", "detector/rate.py"} <= shipped
    assert {"detector/stream.py", "detector/engine.py", "detector/carry.py"} <= shipped
    assert "detector/cli.py" not in shipped
