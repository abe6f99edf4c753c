"""The committed JSON Schemas (`schemas/<type>/<version>.json`): export them, check against them.

`check` is the compatibility gate: each version's current model must still accept everything
its committed schema accepted. To change a type incompatibly, keep the old model as the old
version (with an upcaster to the new one) and let the new model be a new version.
Example events live beside each schema as `<version>.examples.json` (a JSON array).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagaway.schemas.compat import Incompatibility, incompatibilities
from sagaway.schemas.versions import Catalog, SchemaVersion

EXAMPLES_SUFFIX = ".examples.json"


def schema_path(root: Path, event_type: str, version: int) -> Path:
    """Where one version's committed schema lives."""
    return root / event_type / f"{version}.json"


def examples_path(root: Path, event_type: str, version: int) -> Path:
    """Where one version's example events live."""
    return root / event_type / f"{version}{EXAMPLES_SUFFIX}"


def render(version: SchemaVersion) -> str:
    """The file content of one version's schema: stable, sorted, diff-friendly."""
    return json.dumps(version.json_schema(), indent=2, sort_keys=True) + "\n"


def export(catalog: Catalog, root: Path) -> list[Path]:
    """Write every version's schema; return the files that changed."""
    changed: list[Path] = []
    for chain in catalog.versions.values():
        for version in chain:
            path = schema_path(root, version.event_type, version.version)
            text = render(version)
            if not path.exists() or path.read_text() != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                changed.append(path)
    return changed


@dataclass
class CheckReport:
    """What `check` found: incompatible changes fail it; the rest are notes."""

    incompatible: list[tuple[str, int, Incompatibility]] = field(default_factory=list)
    #: Versions with no committed schema yet (export, then commit them).
    new: list[tuple[str, int]] = field(default_factory=list)
    #: Compatible changes not exported yet.
    stale: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the gate passes."""
        return not self.incompatible

    def lines(self) -> list[str]:
        """The report, one finding a line."""
        out = [f"INCOMPATIBLE {t} v{v}: {i}" for t, v, i in self.incompatible]
        out += [
            f"new          {t} v{v}: not committed yet (sagaway schemas export)"
            for t, v in self.new
        ]
        out += [
            f"changed      {t} v{v}: compatible; refresh with sagaway schemas export"
            for t, v in self.stale
        ]
        return out


def check(catalog: Catalog, root: Path) -> CheckReport:
    """Compare every version's current model with its committed schema."""
    report = CheckReport()
    known = {(t, v.version) for t, chain in catalog.versions.items() for v in chain}
    for path in sorted(root.glob("*/*.json")):
        if path.name.endswith(EXAMPLES_SUFFIX) or not path.stem.isdigit():
            continue
        event_type, number = path.parent.name, int(path.stem)
        if (event_type, number) not in known:
            gone = Incompatibility("", "version removed", f"{path.name} has no model any more")
            report.incompatible.append((event_type, number, gone))
    for event_type, chain in catalog.versions.items():
        for version in chain:
            path = schema_path(root, event_type, version.version)
            if not path.exists():
                report.new.append((event_type, version.version))
                continue
            committed: dict[str, Any] = json.loads(path.read_text())
            found = incompatibilities(committed, version.json_schema())
            report.incompatible.extend((event_type, version.version, i) for i in found)
            if not found and path.read_text() != render(version):
                report.stale.append((event_type, version.version))
    return report
