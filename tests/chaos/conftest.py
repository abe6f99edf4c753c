"""Chaos fixtures: a world per scenario, and one figures table per session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.chaos.figures import HEADER, FigureBook
from tests.chaos.harness import Chaos, DevServer

_BOOK_KEY = pytest.StashKey[FigureBook]()


@pytest.fixture(scope="session")
def figure_book(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> FigureBook:
    """The session's figures, kept in `chaos-figures.md` under pytest's temp dir."""
    book = FigureBook(tmp_path_factory.getbasetemp() / "chaos-figures.md")
    request.config.stash[_BOOK_KEY] = book
    return book


@pytest.fixture
async def chaos(own_database_url: str, tmp_path: Path) -> AsyncIterator[Chaos]:
    """A dev server and a database of the scenario's own; everything stopped afterwards."""
    server = DevServer(tmp_path / "temporal")
    server.start()
    world = Chaos(tmp_path, own_database_url, server)
    try:
        yield world
    finally:
        world.close()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the figures table at the end of the run, captured output or not."""
    book = config.stash.get(_BOOK_KEY, None)
    if book is None or not book.rows:
        return
    terminalreporter.section("chaos figures")
    terminalreporter.write_line(HEADER)
    for row in book.rows:
        terminalreporter.write_line(row)
    terminalreporter.write_line(f"(also in {book.path})")
