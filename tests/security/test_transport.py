"""TLS: the gateway behind its own certificate (and client certificates), and Temporal over
(m)TLS configured through `temporalio.envconfig` variables."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from sagaway.dev.embedded import free_port
from sagaway.temporal.client import connect
from tests.security.certs import Certs, make_certs
from tests.stack import Stack


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A test CA with a server and a client certificate."""
    return make_certs(tmp_path_factory.mktemp("pki"))


def _gateway(
    database_url: str, temporal_address: str, log_dir: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    stack = Stack(database_url, temporal_address, log_dir, extra_env=env)
    log = open(log_dir / f"gateway-tls-{port}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagaway", "gateway"],
        env=stack.env() | {"SAGAWAY_PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return proc, port


def _wait_https(proc: subprocess.Popen[bytes], url: str, **tls: object) -> httpx.Response:
    deadline = time.monotonic() + 60
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the gateway exited")
        try:
            return httpx.get(url, timeout=2, **tls)  # type: ignore[arg-type]
        except httpx.HTTPError as err:
            last = err
            time.sleep(0.2)
    raise TimeoutError(f"no TLS answer at {url}: {last}")


@contextlib.contextmanager
def _running(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_gateway_serves_https_with_its_certificate(
    certs: Certs, own_database_url: str, temporal_address: str, session_dir: Path
) -> None:
    proc, port = _gateway(
        own_database_url,
        temporal_address,
        session_dir,
        {
            "SAGAWAY_SSL_CERTFILE": str(certs.server_cert),
            "SAGAWAY_SSL_KEYFILE": str(certs.server_key),
        },
    )
    with _running(proc):
        url = f"https://127.0.0.1:{port}/livez"
        assert _wait_https(proc, url, verify=str(certs.ca)).status_code == 200
        with pytest.raises(httpx.ConnectError):  # an unknown CA is not trusted
            httpx.get(url, timeout=5)
        with pytest.raises(httpx.HTTPError):  # plain HTTP gets no answer
            httpx.get(f"http://127.0.0.1:{port}/livez", timeout=5)


def test_gateway_with_client_certificates_refuses_callers_without_one(
    certs: Certs, own_database_url: str, temporal_address: str, session_dir: Path
) -> None:
    proc, port = _gateway(
        own_database_url,
        temporal_address,
        session_dir,
        {
            "SAGAWAY_SSL_CERTFILE": str(certs.server_cert),
            "SAGAWAY_SSL_KEYFILE": str(certs.server_key),
            "SAGAWAY_SSL_CA_CERTS": str(certs.ca),
        },
    )
    with _running(proc):
        url = f"https://127.0.0.1:{port}/livez"
        with_cert = ssl.create_default_context(cafile=str(certs.ca))
        with_cert.load_cert_chain(str(certs.client_cert), str(certs.client_key))
        assert _wait_https(proc, url, verify=with_cert).status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, timeout=5, verify=str(certs.ca))


async def _tls_proxy(target_port: int, context: ssl.SSLContext) -> tuple[asyncio.Server, int]:
    """A TLS front for the plaintext dev server: terminates TLS, pipes bytes through."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    port = free_port()
    server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=context)
    return server, port


@pytest.fixture
async def mtls_temporal(certs: Certs, temporal_address: str) -> AsyncIterator[str]:
    """The session's dev server behind mutual TLS: our CA's client certificates only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs.ca))
    context.load_cert_chain(str(certs.server_cert), str(certs.server_key))
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    server, port = await _tls_proxy(int(temporal_address.rsplit(":", 1)[1]), context)
    async with server:
        yield f"127.0.0.1:{port}"


async def test_temporal_connection_uses_mtls_from_envconfig_variables(
    certs: Certs, mtls_temporal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(certs.ca))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "localhost")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(certs.client_cert))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(certs.client_key))
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(certs.ca.parent / "no-such-profile.toml"))
    client = await connect(mtls_temporal, wait_seconds=20)
    assert (await client.count_workflows()).count >= 0
    assert client.service_client.config.tls is not None


async def test_temporal_connection_without_a_client_certificate_is_refused(
    certs: Certs, mtls_temporal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(certs.ca))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "localhost")
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(certs.ca.parent / "no-such-profile.toml"))
    with pytest.raises(RuntimeError):
        await connect(mtls_temporal)


async def test_a_temporal_profile_file_supplies_tls_and_the_api_key(
    certs: Certs, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sagaway.temporal.env import connection_options

    profile = tmp_path / "temporal.toml"
    profile.write_text(
        '[profile.cloud]\naddress = "ignored:7233"\napi_key = "k-123"\n'
        f'[profile.cloud.tls]\nserver_ca_cert_path = "{certs.ca}"\nserver_name = "ns.tmprl.cloud"\n'
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(profile))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    options = connection_options("my.ns.tmprl.cloud:7233", "my-ns")
    assert options["target_host"] == "my.ns.tmprl.cloud:7233"
    assert options.get("namespace") == "my-ns"
    assert options.get("api_key") == "k-123"
    tls = options.get("tls")
    assert tls is not None and not isinstance(tls, bool)
    assert tls.domain == "ns.tmprl.cloud"
    assert tls.server_root_ca_cert == certs.ca.read_bytes()
