"""Webhooks declared in the app: provider deliveries the gateway verifies and turns into events.

    app = sagaway.App(
        workflows=[...], activities=[...],
        webhooks=[
            sagaway.Webhook("shop", preset="standard-webhooks",
                            secrets_env="SHOP_WEBHOOK_SECRETS", type="shop.{type}"),
            sagaway.Webhook("payments", preset="stripe", secrets_env="PAYMENTS_WEBHOOK_SECRETS"),
        ],
    )

`POST /webhooks/{name}` takes a delivery with no API key: its signature is the credential. The
variable `secrets_env` names holds one or more secrets, comma-separated, so a secret rotates
with no missed delivery (any listed secret that matches passes). A verified delivery becomes a
CloudEvent (`id` the provider's delivery id, `source` `/webhooks/{name}`, `data` the JSON body)
and from there takes the path of every event: inbox, dedup, triggers, flow control, ledger.

`type` is a template over the JSON body (`{type}`, `{data.object.status}`); each preset has a
default. The declaration is checked where it is written: a bad name, an option of another
preset, a template that cannot be parsed are `ValueError`s at import.
"""

from __future__ import annotations

import dataclasses
import re
import string
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic import dataclasses as checked

from sagaway.tenancy import DEFAULT_TENANT

Preset = Literal["standard-webhooks", "stripe", "github", "hmac"]
#: The presets, in the order the docs present them.
PRESETS: tuple[Preset, ...] = ("standard-webhooks", "stripe", "github", "hmac")
#: Seconds a signed timestamp may be off (Standard Webhooks and Stripe both use five minutes).
DEFAULT_TOLERANCE = 300
#: The type each preset gives an event when the declaration names none (docs/authoring.md).
DEFAULT_TYPES: dict[Preset, str] = {
    "standard-webhooks": "{type}",
    "stripe": "{type}",
    # `{event}` is the X-GitHub-Event header; `.{action}` is left out when the body has none.
    "github": "{event}.{action}",
}
#: Placeholders of an `hmac` preset's signed payload.
PAYLOAD_FIELDS = ("id", "timestamp", "body")

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_PATH = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_HMAC_ONLY = ("header", "id_header", "timestamp_header", "payload", "prefix")

HeaderName = Annotated[str, Field(pattern=_HEADER.pattern)]


def template_fields(template: str, what: str) -> list[str]:
    """The placeholders of `template` (dotted paths), or a `ValueError` saying what is wrong."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise ValueError(f"{what} {template!r}: {err}") from None
    fields: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"{what} {template!r}: placeholders take no format or conversion")
        if not _PATH.match(name):
            raise ValueError(f"{what} {template!r}: {{{name}}} is not a field path like a.b")
        fields.append(name)
    return fields


@checked.dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Webhook:
    """One provider's deliveries at `POST /webhooks/{name}`: how they are verified and typed.

    Args:
        name: the path segment, lower-case letters, digits, `-` and `_`.
        preset: the provider's signature scheme (`standard-webhooks`, `stripe`, `github`,
            `hmac`); docs/authoring.md lists what each verifies and makes of a delivery.
        secrets_env: the environment variable holding the secrets, comma-separated.
        type: the event type, a template over the JSON body; the preset's default if unset
            (an `hmac` webhook must name one).
        tenant: whose events the deliveries become.
        tolerance: seconds a signed timestamp may be off (`standard-webhooks`: both ways;
            `stripe`: old only, as Stripe's libraries check; `hmac`: both ways).
        header: `hmac`: the header with the signature.
        algorithm: `hmac`: the digest, `sha256` by default.
        encoding: `hmac`: how the signature is written, `hex` or `base64`.
        prefix: `hmac`: text before the signature in its header, such as `sha256=`.
        id_header: `hmac`: the header with the delivery id, signed through `{id}` in
            `payload`; without one, the id is the body's SHA-256 (a resent body is then a
            duplicate).
        timestamp_header: `hmac`: the header with a Unix timestamp, signed through
            `{timestamp}` in `payload` and checked against `tolerance`.
        payload: `hmac`: what is signed, a template of `{id}`, `{timestamp}` and `{body}`.
        exclusive_types: event types that come only from this webhook: no API key may post
            one as a CloudEvent, nor another webhook's delivery become one.
    """

    name: Annotated[str, Field(pattern=_NAME.pattern)]
    preset: Preset = "standard-webhooks"
    secrets_env: Annotated[str, Field(pattern=_ENV.pattern)] = ""
    type: str | None = None
    tenant: Annotated[str, Field(min_length=1)] = DEFAULT_TENANT
    tolerance: Annotated[int, Field(gt=0)] = DEFAULT_TOLERANCE
    header: HeaderName | None = None
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""
    id_header: HeaderName | None = None
    timestamp_header: HeaderName | None = None
    payload: str = "{body}"
    exclusive_types: tuple[Annotated[str, Field(min_length=1)], ...] = ()

    @model_validator(mode="after")
    def _coherent(self) -> Webhook:
        what = f"webhook {self.name!r}"
        if not self.secrets_env:
            raise ValueError(f"{what}: secrets_env names the variable that holds its secrets")
        if self.type is not None:
            template_fields(self.type, f"{what}: type")
        if self.preset != "hmac":
            given = [
                option
                for option in (*_HMAC_ONLY, "algorithm", "encoding")
                if getattr(self, option) != _DEFAULTS[option]
            ]
            if given:
                verb = "is an option" if len(given) == 1 else "are options"
                raise ValueError(f"{what}: {', '.join(given)} {verb} of the hmac preset only")
            return self
        if self.header is None:
            raise ValueError(f"{what}: an hmac webhook names the signature's header=")
        if self.type is None:
            raise ValueError(f"{what}: an hmac webhook names its events' type= (a template)")
        fields = template_fields(self.payload, f"{what}: payload")
        unknown = sorted(set(fields) - set(PAYLOAD_FIELDS))
        if unknown or fields.count("body") != 1:
            raise ValueError(
                f"{what}: payload {self.payload!r} names {{body}} once, and else only {{id}} "
                "and {timestamp}"
            )
        if "timestamp" in fields and self.timestamp_header is None:
            raise ValueError(f"{what}: payload signs {{timestamp}}, so name timestamp_header=")
        if "id" in fields and self.id_header is None:
            raise ValueError(f"{what}: payload signs {{id}}, so name id_header=")
        # A header the signature does not cover can be changed by anyone who captured one
        # delivery: a new id makes its body a new event, a new timestamp passes any tolerance.
        if self.id_header is not None and "id" not in fields:
            raise ValueError(
                f"{what}: id_header {self.id_header!r} is not signed; add {{id}} to payload= "
                "if the provider signs it, else leave id_header out (the id is then the "
                "body's SHA-256, so a resent body is a duplicate)"
            )
        if self.timestamp_header is not None and "timestamp" not in fields:
            raise ValueError(
                f"{what}: timestamp_header {self.timestamp_header!r} is not signed; add "
                "{timestamp} to payload= if the provider signs it, else leave it out (an "
                "unsigned timestamp makes the tolerance check protect nothing)"
            )
        return self

    @property
    def source(self) -> str:
        """The CloudEvents `source` of its deliveries."""
        return f"/webhooks/{self.name}"

    @property
    def type_template(self) -> str:
        """The template that makes an event's type."""
        return self.type if self.type is not None else DEFAULT_TYPES[self.preset]


#: Each field's default, to tell which options a declaration set.
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Webhook)}
