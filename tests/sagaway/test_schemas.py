"""The schema contract: committed files, the compatibility gate, upcasters, sensitive marks."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field
from temporalio import workflow

from sagaway.schemas import versions as schemas
from sagaway.schemas.compat import incompatibilities
from sagaway.schemas.files import check, export
from sagaway.schemas.marks import Sensitive, sensitive_paths
from sagaway.schemas.versions import Catalog, UnknownSchema, app_catalog
from sagaway.triggers import Registry, starts
from workflows.app import app
from workflows.models.orders import OrderPlaced

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "workflows" / "schemas"


def catalog() -> Catalog:
    return app_catalog(app)


def test_committed_schemas_accept_everything_they_accepted_before() -> None:
    report = check(catalog(), SCHEMAS)
    assert report.ok, "\n".join(report.lines())
    assert report.new == [], "run `sagaway schemas export` and commit workflows/schemas/"


def test_schemas_check_command_passes_on_the_committed_schemas() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sagaway", "schemas", "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "compatible" in done.stdout


# A throwaway event type whose model changes between "commits".
class Shipped(BaseModel):
    parcel_id: str = Field(max_length=20)
    weight_grams: int = Field(ge=0)
    carrier: Literal["dhl", "ups"]
    note: str | None = None


def _catalog_for(model: type[BaseModel]) -> Catalog:
    return Catalog({"parcel.shipped": model})


def _gate(tmp_path: Path, before: type[BaseModel], after: type[BaseModel]) -> list[str]:
    export(_catalog_for(before), tmp_path)
    report = check(_catalog_for(after), tmp_path)
    return [str(i) for _, _, i in report.incompatible]


class FieldRemoved(BaseModel):
    parcel_id: str = Field(max_length=20)
    carrier: Literal["dhl", "ups"]
    note: str | None = None


class TypeNarrowed(BaseModel):
    parcel_id: str = Field(max_length=10)
    weight_grams: int = Field(ge=0)
    carrier: Literal["dhl", "ups"]
    note: str | None = None


class TypeChanged(BaseModel):
    parcel_id: int
    weight_grams: int = Field(ge=0)
    carrier: Literal["dhl", "ups"]
    note: str | None = None


class NewRequired(BaseModel):
    parcel_id: str = Field(max_length=20)
    weight_grams: int = Field(ge=0)
    carrier: Literal["dhl", "ups"]
    note: str | None = None
    insured: bool


class EnumValueRemoved(BaseModel):
    parcel_id: str = Field(max_length=20)
    weight_grams: int = Field(ge=0)
    carrier: Literal["dhl"]
    note: str | None = None


class OptionalMadeRequired(BaseModel):
    parcel_id: str = Field(max_length=20)
    weight_grams: int = Field(ge=0)
    carrier: Literal["dhl", "ups"]
    note: str


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (FieldRemoved, "weight_grams: field removed"),
        (TypeNarrowed, "parcel_id: type narrowed: maxLength 20 → 10"),
        (TypeChanged, "parcel_id: type narrowed: string no longer accepted"),
        (NewRequired, "insured: new required field"),
        (EnumValueRemoved, "carrier: enum value removed: ['ups']"),
        (OptionalMadeRequired, "note: type narrowed: null no longer accepted"),
    ],
)
def test_gate_fails_on_an_incompatible_change(
    tmp_path: Path, after: type[BaseModel], expected: str
) -> None:
    found = _gate(tmp_path, Shipped, after)
    assert any(line.startswith(expected) for line in found), found


class Widened(BaseModel):
    parcel_id: str = Field(max_length=40)
    weight_grams: int | float = Field(ge=0)
    carrier: Literal["dhl", "ups", "fedex"]
    note: str | None = None
    insured: bool = False


def test_gate_passes_a_compatible_change_and_export_refreshes_the_file(tmp_path: Path) -> None:
    assert _gate(tmp_path, Shipped, Widened) == []
    report = check(_catalog_for(Widened), tmp_path)
    assert report.ok and report.stale == [("parcel.shipped", 1)]
    export(_catalog_for(Widened), tmp_path)
    assert check(_catalog_for(Widened), tmp_path).stale == []


def test_gate_fails_when_a_committed_version_loses_its_model(tmp_path: Path) -> None:
    export(_catalog_for(Shipped), tmp_path)
    (tmp_path / "parcel.shipped" / "2.json").write_text(
        (tmp_path / "parcel.shipped" / "1.json").read_text()
    )
    report = check(_catalog_for(Shipped), tmp_path)
    assert [(t, v, i.kind) for t, v, i in report.incompatible] == [
        ("parcel.shipped", 2, "version removed")
    ]


def test_the_check_command_fails_on_an_incompatible_committed_schema(tmp_path: Path) -> None:
    folder = tmp_path / "schemas"
    export(catalog(), folder)
    path = folder / "order.cancelled" / "1.json"
    committed = json.loads(path.read_text())
    committed["properties"]["store_id"] = {"type": "string"}  # a field the model lost
    path.write_text(json.dumps(committed))
    done = subprocess.run(
        [sys.executable, "-m", "sagaway", "schemas", "check", "--dir", str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 1
    assert "INCOMPATIBLE order.cancelled v1: store_id: field removed" in done.stdout


def test_incompatibilities_follow_refs_into_nested_models() -> None:
    class Address(BaseModel):
        line1: str
        country: str

    class Before(BaseModel):
        address: Address

    class AddressV2(BaseModel):
        line1: str

    class After(BaseModel):
        address: AddressV2

    found = incompatibilities(Before.model_json_schema(), After.model_json_schema())
    assert [str(i) for i in found] == ["address.country: field removed: no longer in the schema"]


def test_v1_order_is_upcast_to_cents_in_eur() -> None:
    data = json.loads((SCHEMAS / "order.placed" / "1.examples.json").read_text())[0]["data"]
    loaded = catalog().load("order.placed", data, "/schemas/order.placed/1")
    assert isinstance(loaded.data, OrderPlaced)
    assert loaded.version.version == 1 and loaded.version.deprecated
    assert loaded.data.currency == "EUR"
    assert [i.unit_price_cents for i in loaded.data.items] == [
        round(float(i["unit_price"]) * 100) for i in data["items"]
    ]


def test_dataschema_selects_the_version_and_none_means_the_newest() -> None:
    c = catalog()
    assert c.select("order.placed", None).version == 2
    assert c.select("order.placed", "https://shop.example/schemas/order.placed/1").version == 1
    # A URI of another shape is the producer's own schema: the newest version reads it.
    assert c.select("order.placed", "https://registry.example/order.json").version == 2
    for wrong in ("https://gw.example/schemas/order.placed/3", "/schemas/order.cancelled/1"):
        with pytest.raises(UnknownSchema):
            c.select("order.placed", wrong)


def test_a_deprecated_version_names_its_sunset_and_successor() -> None:
    headers = catalog().get("order.placed", 1).deprecation_headers()
    assert headers["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert headers["Deprecation"].startswith("@")
    assert headers["Link"] == '</schemas/order.placed/2>; rel="successor-version"'
    assert catalog().get("order.placed", 2).deprecation_headers() == {}


class OldParcel(BaseModel):
    parcel_id: str


class Unrelated(BaseModel):
    x: int


def test_an_upcaster_must_return_the_next_versions_model() -> None:
    @schemas.upcaster("parcel.shipped", version=1, sunset=date(2030, 1, 1))
    def wrong(old: OldParcel) -> Unrelated:
        return Unrelated(x=1)

    try:
        with pytest.raises(TypeError, match="must return Shipped"):
            _catalog_for(Shipped)
    finally:
        schemas._UPCASTERS.pop(("parcel.shipped", 1))


def test_sensitive_fields_are_marked_in_the_exported_schema() -> None:
    committed = json.loads((SCHEMAS / "order.placed" / "2.json").read_text())
    assert committed["properties"]["payment_token"]["x-sensitive"] is True
    address = committed["$defs"]["ShippingAddress"]["properties"]
    assert {k for k, v in address.items() if v.get("x-sensitive")} == {
        "name",
        "line1",
        "postal_code",
    }
    assert sensitive_paths(OrderPlaced) == [
        "payment_token",
        "shipping_address.name",
        "shipping_address.line1",
        "shipping_address.postal_code",
    ]

    class Signup(BaseModel):
        email: Annotated[str, Sensitive] = Field(max_length=320)

    assert Signup.model_json_schema()["properties"]["email"]["x-sensitive"] is True


class Signup(BaseModel):
    email: Annotated[str, Sensitive]


@starts("signup.made", workflow_id="signup-{email}")
@workflow.defn(sandboxed=False)
class SignupFlow:
    @workflow.run
    async def run(self, signup: Signup) -> None: ...


def test_a_template_naming_a_sensitive_field_fails_at_start() -> None:
    with pytest.raises(TypeError, match=r"sensitive field\(s\) \['email'\]"):
        Catalog(Registry([SignupFlow]))
