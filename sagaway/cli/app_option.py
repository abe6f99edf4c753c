"""`--app MODULE:ATTRIBUTE`, shared by every command that works on an app."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from sagaway.app import App, AppError, load_app
from sagaway.settings import Settings, get_settings

AppOption = Annotated[
    str | None,
    typer.Option(
        "--app",
        envvar="SAGAWAY_APP",
        help="The app, as MODULE:ATTRIBUTE (default: the reference app).",
        show_default=False,
    ),
]


def chosen_app(spec: str | None) -> tuple[App, Settings]:
    """Load the app `spec` names (else the settings'), and the settings that name it.

    A given spec becomes `SAGAWAY_APP` of this process, so the processes it starts (the dev
    stack's parts, the history recorder's) serve the same app.
    """
    if spec:
        os.environ["SAGAWAY_APP"] = spec
        get_settings.cache_clear()
    settings = get_settings()
    try:
        return load_app(settings.app), settings
    except AppError as err:
        raise typer.BadParameter(str(err), param_hint="--app") from None
