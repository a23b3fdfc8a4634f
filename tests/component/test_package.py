"""Packaging facts HACS and Home Assistant rely on: manifest, hacs.json, versions in step."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
COMPONENT = ROOT / "custom_components" / "sleep_myoclonus"


def test_manifest_has_what_home_assistant_requires() -> None:
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    for key in (
        "domain",
        "name",
        "codeowners",
        "documentation",
        "iot_class",
        "issue_tracker",
        "version",
    ):
        assert manifest[key], key
    assert manifest["domain"] == COMPONENT.name
    assert manifest["dependencies"] == ["mqtt"]
    assert manifest["iot_class"] == "local_push"
    assert not any(r.startswith("numpy") for r in manifest["requirements"])  # HA provides numpy


def test_versions_agree() -> None:
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert manifest["version"] == project["version"]


def test_hacs_json() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == "Sleep Myoclonus"
    assert hacs["render_readme"] is True
    assert hacs["zip_release"] is True
    assert hacs["filename"].endswith(".zip")
    major, minor, _ = (int(p) for p in hacs["homeassistant"].split("."))
    assert (major, minor) <= (2025, 4)  # the oldest HA our test stack proves
