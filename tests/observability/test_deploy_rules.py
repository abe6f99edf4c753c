"""The alert rules and the Grafana dashboard in `deploy/observability/` are valid and tested.

With Prometheus's `promtool` on PATH (Debian: `apt-get install prometheus`), the rules are
checked and unit-tested by it and every dashboard query is parsed by it. Without it, the rule
file is checked against the rule-file schema and each expression for balanced brackets and
quotes; which of the two ran is in the test's name.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "observability"
RULES = ROOT / "alerts.yaml"
RULE_TESTS = ROOT / "alerts.test.yaml"
DASHBOARD = ROOT / "grafana-dashboard.json"
PROMTOOL = shutil.which("promtool")
_DURATION = re.compile(r"^\d+(ms|s|m|h|d|w|y)$")
#: Alerts the issue asks for: stale queued events, failed compensation, slow start, no pollers.
REQUIRED_ALERTS = {
    "SagawayQueuedEventsStale",
    "SagawayCompensationFailed",
    "SagawayWorkflowScheduleToStartHigh",
    "SagawayNoPollers",
}


def rules() -> list[dict[str, Any]]:
    """Every rule of the alert file."""
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    """Every PromQL query of the dashboard, with Grafana's variables filled in."""
    doc = json.loads(DASHBOARD.read_text())
    return [
        target["expr"].replace("$__rate_interval", "5m")
        for panel in doc["panels"]
        for target in panel["targets"]
    ]


def referenced_metrics() -> set[str]:
    """Names of the Sagaway and Temporal metrics the rules and the dashboard use."""
    text = " ".join([*(r["expr"] for r in rules()), *dashboard_queries()])
    return set(re.findall(r"\b(?:sagaway|temporal)_[a-z_]+\b", text))


def test_the_alerts_the_issue_asks_for_are_there() -> None:
    assert {r["alert"] for r in rules()} >= REQUIRED_ALERTS
    for rule in rules():
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"]


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)")
def test_rules_pass_promtool_check_and_unit_tests() -> None:
    assert PROMTOOL is not None
    check = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        [PROMTOOL, "test", "rules", RULE_TESTS.name], cwd=ROOT, capture_output=True, text=True
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)")
def test_dashboard_queries_parse_with_promtool(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    recording = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": expr}
                    for i, expr in enumerate(dashboard_queries())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(recording))
    check = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.skipif(PROMTOOL is not None, reason="promtool checks these fully")
def test_rules_fit_the_rule_file_schema_without_promtool() -> None:
    doc = yaml.safe_load(RULES.read_text())
    assert set(doc) == {"groups"}
    for group in doc["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"} and group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"])
            assert "for" not in rule or _DURATION.match(rule["for"])
            _assert_balanced(rule["expr"])
    for expr in dashboard_queries():
        _assert_balanced(expr)


def _assert_balanced(expr: str) -> None:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quoted = False
    for char in expr:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([{":
            stack.append(char)
        elif char in pairs:
            assert stack and stack.pop() == pairs[char], expr
    assert not stack and not quoted, expr


def test_dashboard_is_grafana_json_with_the_panels_the_issue_asks_for() -> None:
    doc = json.loads(DASHBOARD.read_text())
    titles = " | ".join(panel["title"].lower() for panel in doc["panels"])
    for topic in ("ingest", "saga outcomes", "backlog", "latency", "schedule-to-start"):
        assert topic in titles, topic
    ids = [panel["id"] for panel in doc["panels"]]
    assert len(ids) == len(set(ids))
