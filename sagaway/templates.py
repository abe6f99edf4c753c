"""Templates over an event's data, such as `order-{order_id}`: checked once, rendered per event."""

from __future__ import annotations

import string
from typing import Any

from pydantic import BaseModel

from sagaway.events import EventMeta
from sagaway.tenancy import DEFAULT_TENANT

#: Names a template may use besides the data's own fields.
EVENT_FIELDS = ("event_id", "event_source", "event_type", "tenant")


def check_template(template: str, model: type[BaseModel], cls: type) -> None:
    """Refuse a template that names neither a field of `model` nor an event field.

    Computed fields count: a model can lift a nested value (`data.object.metadata.order_id`)
    to a name a template can use.
    """
    names = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    fields = set(model.model_fields) | set(model.model_computed_fields)
    unknown = names - fields - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(
            f"{cls.__name__}: template {template!r} names {sorted(unknown)}, which are neither "
            f"fields of {model.__name__} nor {EVENT_FIELDS}"
        )


def render(template: str, data: BaseModel, event: EventMeta) -> str:
    """The template filled in with the data's fields and the event's own."""
    dumped = data.model_dump(mode="json")
    # A `RootModel` (data that is a string, a list, anything) has no fields to name.
    values: dict[str, Any] = dumped if isinstance(dumped, dict) else {}
    values.update(
        event_id=event.id,
        event_source=event.source,
        event_type=event.type,
        tenant=event.tenant or DEFAULT_TENANT,
    )
    return template.format_map(values)
