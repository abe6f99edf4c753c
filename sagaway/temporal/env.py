"""How to reach Temporal securely: the SDK's environment configuration, profiles and env vars.

`temporalio.envconfig` reads a TOML profile (`TEMPORAL_CONFIG_FILE`, default
`~/.config/temporalio/temporal.toml`; profile `TEMPORAL_PROFILE`, default `default`) and the
`TEMPORAL_*` variables over it: `TEMPORAL_API_KEY` (Temporal Cloud), `TEMPORAL_TLS=true`,
`TEMPORAL_TLS_CLIENT_CERT_PATH` / `TEMPORAL_TLS_CLIENT_KEY_PATH` (mTLS),
`TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_GRPC_META_*`. Sagaway
takes everything from there, except that the address and namespace its settings resolve
(the embedded dev server by default) win.
"""

from __future__ import annotations

from temporalio.envconfig import ClientConfig, ClientConnectConfig


def connection_options(address: str, namespace: str) -> ClientConnectConfig:
    """`Client.connect` keyword arguments: the profile's TLS, API key and metadata, our target."""
    options = ClientConfig.load_client_connect_config()
    options["target_host"] = address
    options["namespace"] = namespace
    return options
