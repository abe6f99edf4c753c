"""The AES-GCM payload codec: round trips, key rotation, tampering, and key specs."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from sagaway.dev.keys import CODEC_KEY_FILE, dev_codec_keys
from sagaway.keyring import CodecError, new_key, parse_keys
from sagaway.settings import Settings
from sagaway.temporal.codec import ENCODING, KEY_ID_METADATA, EncryptionCodec
from sagaway.temporal.converter import data_converter
from workflows.models.orders import OrderPlaced

ORDER = OrderPlaced.model_validate(
    {
        "order_id": "o-secret-1",
        "customer_id": "c-42",
        "items": [{"sku": "sku-red-mug", "quantity": 3, "unit_price_cents": 1250}],
        "payment_token": "tok_visa",
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "city": "London",
            "postal_code": "N1 7AA",
            "country": "GB",
        },
    }
)


def _settings(spec: str) -> Settings:
    return Settings(codec_keys=spec)


async def test_an_order_round_trips_and_rests_encrypted_under_the_newest_key() -> None:
    new, old = new_key("k2"), new_key("k1")
    converter = data_converter(_settings(f"{new.spec()},{old.spec()}"))
    [payload] = await converter.encode([ORDER])
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID_METADATA] == b"k2"
    assert b"Ada Lovelace" not in payload.data and b"o-secret-1" not in payload.data
    [back] = await converter.decode([payload], [OrderPlaced])
    assert back == ORDER


async def test_rotation_keeps_old_payloads_readable_and_seals_new_ones_with_the_new_key() -> None:
    old, new = new_key("2025"), new_key("2026")
    before = EncryptionCodec([old])
    [sealed_before] = await before.encode([Payload(data=b"before rotation")])
    after = EncryptionCodec([new, old])
    [opened] = await after.decode([sealed_before])
    assert opened.data == b"before rotation"
    [sealed_after] = await after.encode([Payload(data=b"after rotation")])
    assert sealed_after.metadata[KEY_ID_METADATA] == b"2026"
    with pytest.raises(CodecError, match="no codec key with id '2026'"):
        await before.decode([sealed_after])


async def test_a_tampered_payload_or_a_swapped_key_id_is_refused() -> None:
    a, b = new_key("a"), new_key("b")
    codec = EncryptionCodec([a, b])
    [sealed] = await codec.encode([Payload(data=b"amount=3750")])
    flipped = Payload()
    flipped.CopyFrom(sealed)
    flipped.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(CodecError, match="failed authentication"):
        await codec.decode([flipped])
    swapped = Payload()
    swapped.CopyFrom(sealed)
    swapped.metadata[KEY_ID_METADATA] = b"b"
    with pytest.raises(CodecError, match="failed authentication"):
        await codec.decode([swapped])


async def test_payloads_written_before_the_codec_pass_through() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}')
    [out] = await EncryptionCodec([new_key("k")]).decode([plain])
    assert out == plain


async def test_each_encryption_uses_a_fresh_nonce() -> None:
    codec = EncryptionCodec([new_key("k")])
    one, two = await codec.encode([Payload(data=b"same"), Payload(data=b"same")])
    assert one.data != two.data


async def test_failure_messages_and_stack_traces_are_encrypted_too() -> None:
    converter = data_converter(_settings(new_key("k").spec()))
    failure = Failure()
    try:
        raise ApplicationError("card of Ada Lovelace declined", type="PaymentDeclined")
    except ApplicationError as err:
        await converter.encode_failure(err, failure)
    assert b"Ada Lovelace" not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert "card of Ada Lovelace declined" in str(decoded)


async def test_without_keys_the_converter_is_the_plain_pydantic_one() -> None:
    [payload] = await data_converter(_settings("")).encode([ORDER])
    assert payload.metadata["encoding"] == b"json/plain"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nocolon", "expected id:base64key"),
        ("k:not-base64!", "not valid base64"),
        (f"k:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        ("k:{0},k:{0}", "appears twice"),
        ("bad id:{0}", "expected id:base64key"),
    ],
)
def test_invalid_key_specs_fail_without_echoing_the_secret(spec: str, message: str) -> None:
    secret = base64.b64encode(bytes(range(32))).decode()
    spec = spec.format(secret)
    with pytest.raises(CodecError, match=message) as caught:
        parse_keys(spec)
    assert secret not in str(caught.value)
    with pytest.raises(ValueError) as invalid:
        _settings(spec)
    assert secret not in str(invalid.value)


def test_settings_never_show_the_keys() -> None:
    key = new_key("k")
    settings = _settings(key.spec())
    assert base64.b64encode(key.secret).decode() not in repr(settings)
    assert key.secret.hex() not in repr(key)
    assert [k.id for k in settings.codec_key_list] == ["k"]


def test_the_dev_key_is_made_once_owner_only_and_kept(tmp_path: Path) -> None:
    first = dev_codec_keys(tmp_path / "data")
    key_file = tmp_path / "data" / CODEC_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert dev_codec_keys(tmp_path / "data") == first
    [key] = parse_keys(first)
    assert len(key.secret) == 32
