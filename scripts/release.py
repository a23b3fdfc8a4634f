"""Build the HACS release archive ``dist/sleep_myoclonus.zip``.

HACS (``zip_release`` in ``hacs.json``) unpacks the archive into
``custom_components/sleep_myoclonus/``, so the component's files sit at the archive's root
(``manifest.json`` at the top). In the repository the component's ``detector`` subpackage is a
link to the top-level ``detector/`` package; the archive holds a real copy of the detector
modules the component imports (followed transitively), and none of the development tools
(benchmark, evaluation, command line) that need more than numpy.

The build is reproducible: entries are sorted, with fixed timestamps and permissions, so two
builds of the same tree are byte-identical. Standard library only, but it parses the component's
source, so it needs the Python the component is written for (>= 3.13).

Usage: ``.venv/bin/python scripts/release.py [--output PATH] [--tag TAG]``
"""

from __future__ import annotations

import argparse
import ast
import json
import stat
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
DOMAIN: Final = "sleep_myoclonus"
COMPONENT: Final = ROOT / "custom_components" / DOMAIN
DETECTOR: Final = ROOT / "detector"
SUBPACKAGE: Final = "detector"  # the component's link to DETECTOR
# Zip's earliest representable time; every entry gets it.
TIMESTAMP: Final = (1980, 1, 1, 0, 0, 0)
FILE_MODE: Final = stat.S_IFREG | 0o644
# Never shipped: development-only packages, and the repository-level packages by absolute name
# (inside Home Assistant only the component's own subpackage exists).
FORBIDDEN_IMPORTS: Final = frozenset({"detector", "hardware", "paho", "scipy"})
# The detector promises numpy only.
DETECTOR_THIRD_PARTY: Final = frozenset({"numpy"})


class ReleaseError(Exception):
    """The tree cannot be released as it is."""


def version() -> str:
    """Return the release version, checking that manifest.json and pyproject.toml agree.

    Returns
    -------
    str
        The version, e.g. ``0.1.0``.

    Raises
    ------
    ReleaseError
        If the two versions differ.
    """
    manifest = json.loads((COMPONENT / "manifest.json").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    if manifest["version"] != project["version"]:
        raise ReleaseError(
            f"manifest.json version {manifest['version']} != pyproject.toml {project['version']}"
        )
    return str(manifest["version"])


def _shipped(path: Path) -> bool:
    """Whether a file of the component's tree belongs in the archive."""
    return not (
        "__pycache__" in path.parts
        or path.suffix in {".pyc", ".pyo"}
        or any(part.startswith(".") for part in path.parts)
    )


def _component_files() -> dict[str, Path]:
    """Return the component's own files (without the detector link) by archive name."""
    files: dict[str, Path] = {}
    link = COMPONENT / SUBPACKAGE
    for path in sorted(COMPONENT.rglob("*")):
        relative = path.relative_to(COMPONENT)
        if path == link or link in path.parents or not _shipped(relative):
            continue
        if path.is_symlink():
            raise ReleaseError(f"unexpected link in the component: {relative}")
        if path.is_file():
            files[relative.as_posix()] = path
    return files


def _show(path: Path) -> str:
    """Return a path for messages: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _imports(path: Path) -> list[ast.Import | ast.ImportFrom]:
    """Return every import statement of a module, also those inside functions."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as err:
        raise ReleaseError(
            f"cannot parse {_show(path)} ({err.msg}): run with the component's Python, >= 3.13"
        ) from err
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def _top_level_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    """Return the top-level packages an absolute import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name.partition(".")[0] for alias in node.names]
    if node.level == 0 and node.module:
        return [node.module.partition(".")[0]]
    return []


def _detector_module(name: str) -> Path:
    """Return the file of detector module ``name`` (dotted, below the package; "": the package)."""
    if not name:
        return DETECTOR / "__init__.py"
    base = DETECTOR.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    raise ReleaseError(f"the component imports detector module {name!r}, which does not exist")


def _relative_targets(node: ast.ImportFrom, package: str) -> list[str]:
    """Return the detector modules a relative import names.

    ``package`` is the importer's package below the detector: "" for the detector package
    itself, ``"<component>"`` for the component's own modules.
    """
    module = node.module or ""
    if package == "<component>":
        if node.level != 1 or not (module == SUBPACKAGE or module.startswith(SUBPACKAGE + ".")):
            return []  # the component's own modules, all shipped anyway
        base = module.removeprefix(SUBPACKAGE).removeprefix(".")
    else:
        parts = package.split(".") if package else []
        if node.level - 1 > len(parts):
            raise ReleaseError(f"relative import {ast.unparse(node)!r} leaves the detector")
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, *([module] if module else [])])
    targets = [base]
    # ``from . import x`` / ``from .detector import x``: x may be a submodule
    for alias in node.names:
        name = f"{base}.{alias.name}" if base else alias.name
        if (DETECTOR.joinpath(*name.split(".")).with_suffix(".py")).is_file():
            targets.append(name)
    return targets


def detector_modules(component_modules: Iterable[Path]) -> dict[str, Path]:
    """Return the detector modules the component needs: its imports, followed transitively.

    Parameters
    ----------
    component_modules
        The component's own Python files.

    Returns
    -------
    dict
        Archive name (``detector/<module>.py``) to source file, the package ``__init__`` always
        included.

    Raises
    ------
    ReleaseError
        If a shipped module imports a development-only or repository-level package, a detector
        module imports anything but the standard library and numpy, or an imported module is
        missing.
    """
    pending: list[tuple[str, Path]] = [("<component>", path) for path in component_modules]
    needed: dict[str, Path] = {"": _detector_module("")}
    pending.append(("", needed[""]))
    seen: set[Path] = set()
    while pending:
        package, path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in _imports(path):
            for top in _top_level_names(node):
                allowed = package == "<component>" or top in DETECTOR_THIRD_PARTY
                allowed = allowed or top in sys.stdlib_module_names
                if top in FORBIDDEN_IMPORTS or not allowed:
                    raise ReleaseError(f"{_show(path)} imports {top}: not shippable")
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            for name in _relative_targets(node, package):
                module = _detector_module(name)
                needed[name] = module
                inner = name if module.name == "__init__.py" else name.rpartition(".")[0]
                pending.append((inner, module))
    return {
        f"{SUBPACKAGE}/{module.relative_to(DETECTOR).as_posix()}": module
        for module in needed.values()
    }


def release_files() -> dict[str, Path]:
    """Return every file of the archive by archive name, sorted.

    Returns
    -------
    dict
        The component's files, then the detector modules it needs under ``detector/``.
    """
    files = _component_files()
    files |= detector_modules(path for name, path in files.items() if name.endswith(".py"))
    return dict(sorted(files.items()))


def build(output: Path) -> Path:
    """Write the release archive.

    Parameters
    ----------
    output
        The archive to write (its directory is created).

    Returns
    -------
    Path
        ``output``.
    """
    version()
    files = release_files()
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w") as archive:
        for name, path in files.items():
            info = zipfile.ZipInfo(name, date_time=TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permissions below are read
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return output


def main(argv: Sequence[str] | None = None) -> int:
    """Build the archive and print its path and size.

    Parameters
    ----------
    argv
        Command line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--output", type=Path, default=ROOT / "dist" / f"{DOMAIN}.zip", help="archive to write"
    )
    parser.add_argument(
        "--tag", help="the release's git tag; must be the version, with or without a leading v"
    )
    args = parser.parse_args(argv)
    try:
        release = version()
        if args.tag is not None and args.tag.removeprefix("v") != release:
            raise ReleaseError(f"tag {args.tag} does not match version {release}")
        output = build(args.output)
    except ReleaseError as err:
        print(f"release: {err}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(output) as archive:
        count = len(archive.infolist())
    print(f"{output} ({output.stat().st_size} bytes, {count} files, version {release})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
