"""`sagaway settings`: the settings page (`docs/settings.md`), generated from `Settings`.

Every field's environment variable, default and description come from the code, so the page
cannot drift from it: `tests/sagaway/test_settings_doc.py` fails when the committed page is
stale (`make docs` rewrites it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sagaway.settings import Settings

HEADER = """# Settings

Every setting is an environment variable with a default that works for `make dev`. This page
is generated from the code (`sagaway settings`, `make docs`); [back to the README](../README.md).

| variable | default | meaning |
| --- | --- | --- |
"""

#: Variables read by libraries or by the CLI alone, not by `Settings`: (variables, meaning).
OTHERS = [
    (
        "`TEMPORAL_API_KEY`, `TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH`, "
        "`TEMPORAL_TLS_CLIENT_KEY_PATH`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, "
        "`TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_GRPC_META_*`, `TEMPORAL_PROFILE`, "
        "`TEMPORAL_CONFIG_FILE`",
        "how to reach Temporal securely, read by `temporalio.envconfig` (a TOML profile and "
        "the variables over it; see [Security](security.md))",
    ),
    (
        "`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, "
        "`OTEL_SERVICE_NAME` and the other `OTEL_*` variables",
        "export traces over OTLP/HTTP; unset records no spans, though trace ids still flow "
        "(see [Operating](operating.md#traces))",
    ),
    (
        "`SAGAWAY_API_KEY`",
        "the key the `sagaway dlq` / `sagaway runs` commands send; unset, they use the dev "
        "stack's key from the data dir",
    ),
]


def variable(name: str, field: FieldInfo) -> str:
    """The environment variable(s) a field is read from."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return " / ".join(f"`{choice}`" for choice in alias.choices if isinstance(choice, str))
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return f"`{prefix}{name}`".upper()


def default(field: FieldInfo) -> str:
    """A field's default as the table shows it."""
    value: Any = field.default
    if value is PydanticUndefined or value is None:
        return "unset"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        value = str(value)
    if value == "":
        return "empty"
    return f"`{value}`"


def render() -> str:
    """The whole page."""
    rows = [
        f"| {variable(name, field)} | {default(field)} | {_cell(field.description or '')} |"
        for name, field in Settings.model_fields.items()
    ]
    others = [f"| {names} | {meaning} |" for names, meaning in OTHERS]
    return (
        HEADER
        + "\n".join(rows)
        + "\n\n## Read by the libraries and the CLI\n\n| variable | meaning |\n| --- | --- |\n"
        + "\n".join(others)
        + "\n"
    )


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
