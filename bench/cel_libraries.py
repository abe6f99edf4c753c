"""CEL libraries for trigger filters: speed and a conformance sample, one library after another.

Trigger filters (`sagaway.filters`) use Google's `cel-expr-python` (the C++ CEL). This script
holds the evidence for that choice against the two other CEL libraries for Python,
`common-expression-language` (Rust) and `cel-python` (pure Python):

- Speed: two filters are compiled once, then evaluated with freshly parsed `data` and `event`
  dicts for every call, so the figures include the library's conversion of Python values.
  Compile time and time per evaluation are the median of each round; the table shows the
  min / median / max of those medians over the rounds.
- Conformance: 67 cases (arithmetic and overflow, strings and bytes, lists and maps, macros,
  timestamps and durations, errors and logic), each with the value or the error the CEL
  spec gives. A compile error counts as the error expected; values compare by type too.

It runs with whichever of the three libraries the interpreter has and says which it skipped.
The three install together in one venv; run from the checkout root:

    python3.11 -m venv /tmp/cel
    /tmp/cel/bin/pip install cel-expr-python common-expression-language cel-python
    /tmp/cel/bin/python -m bench.cel_libraries [--calls 20000] [--rounds 5]

`--calls` is the calls per round for the native libraries; cel-python, about 20 times slower,
makes 20 times fewer. The project's own venv has cel-expr-python only.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import json
import math
import statistics
import sys
import time
from typing import Any

EXPRESSIONS = {
    "E1": "data.total > 1000 && event.type == 'order.placed'",
    "E2": "data.items.exists(i, i.qty > 2) && has(event.region) && event.region == 'eu'",
}
# Kept as JSON text: every call gets dicts of its own, as events arriving at the gateway do.
DATA = (
    '{"order_id": "ord-123", "total": 1234.5, "currency": "EUR", "paid": true, "coupon": null,'
    ' "customer": {"id": "c-1", "tier": "gold", "email": "a@example.com"}, "tags": ["new", "vip"],'
    ' "items": [{"sku": "A1", "qty": 1, "price": 10.0}, {"sku": "B2", "qty": 3, "price": 5.5},'
    ' {"sku": "C3", "qty": 2, "price": 100.0}], "created": "2024-05-01T12:00:00Z",'
    ' "shipping": {"country": "DE", "method": "express"}}'
)
EVENT = (
    '{"id": "e-1", "source": "/shop", "type": "order.placed", "subject": "orders/123",'
    ' "time": "2024-05-01T12:00:00Z", "tenant": "t-1", "region": "eu"}'
)
ERR = object()  # the spec says: an error
CASES: list[tuple[str, str, Any]] = [
    ("arith", "1 + 2 * 3", 7),
    ("arith", "-7 / 2", -3),
    ("arith", "-7 % 3", -1),
    ("arith", "9223372036854775807 + 1", ERR),
    ("arith", "-9223372036854775808 - 1", ERR),
    ("arith", "9223372036854775807 * 2", ERR),
    ("arith", "1 / 0", ERR),
    ("arith", "1 % 0", ERR),
    ("arith", "2.0 / 0.0", math.inf),
    ("arith", "1 + 1.0", ERR),
    ("arith", "1u + 2u", 3),
    ("arith", "0u - 1u", ERR),
    ("arith", "1u + 1", ERR),
    ("arith", "int(3.9)", 3),
    ("arith", "int('12') + 1", 13),
    ("arith", "int('abc')", ERR),
    ("arith", "uint(-1)", ERR),
    ("arith", "dyn(1) == dyn(1.0)", True),
    ("arith", "dyn(1) < dyn(1.5)", True),
    ("string", "'abc' + 'def'", "abcdef"),
    ("string", "size('h\u00e9llo')", 5),
    ("string", "size(b'abc')", 3),
    ("string", "b'ab' + b'cd'", b"abcd"),
    ("string", "'hello'.startsWith('he') && 'hello'.endsWith('lo')", True),
    ("string", "'hello world'.contains('o w')", True),
    ("string", "'abc123'.matches('^[a-z]+[0-9]+$')", True),
    ("string", "'a' < 'b'", True),
    ("string", "string(b'hi')", "hi"),
    ("string", "bytes('h\u00e9')", "h\u00e9".encode()),
    ("list/map", "[1, 2] + [3]", [1, 2, 3]),
    ("list/map", "2 in [1, 2, 3]", True),
    ("list/map", "[1, 2, 3][3]", ERR),
    ("list/map", "{'a': 1}['b']", ERR),
    ("list/map", "'a' in {'a': 1}", True),
    ("list/map", "size({'a': 1, 'b': 2})", 2),
    ("list/map", "{'a': {'b': 1}}.a.b", 1),
    ("list/map", "[[1], [2]] == [[1], [2]]", True),
    ("list/map", "{1: 'a', 2: 'b'}[2]", "b"),
    ("macro", "[1, 2, 3].all(x, x > 0)", True),
    ("macro", "[1, 2, 3].exists(x, x > 2)", True),
    ("macro", "[1, 2, 3].exists_one(x, x > 1)", False),
    ("macro", "[1, 2, 3].map(x, x * 2)", [2, 4, 6]),
    ("macro", "[1, 2, 3].filter(x, x % 2 == 1)", [1, 3]),
    ("macro", "{'a': 1, 'b': 2}.all(k, k != '')", True),
    ("macro", "[1, 2, 3].map(x, x > 1, x * 10)", [20, 30]),
    ("macro", "[0, 1].exists(x, 1 / x > 0)", True),
    ("macro", "[0, 1].all(x, 1 / x > 0)", ERR),
    (
        "time",
        "timestamp('2024-01-01T00:00:00Z') + duration('1h') == timestamp('2024-01-01T01:00:00Z')",
        True,
    ),
    (
        "time",
        "timestamp('2024-03-01T00:00:00Z') - timestamp('2024-02-01T00:00:00Z') == duration('696h')",
        True,
    ),
    ("time", "duration('1h30m') > duration('90m')", False),
    ("time", "timestamp('2024-01-01T23:30:00-05:00').getHours()", 4),
    ("time", "timestamp('2024-01-01T23:30:00Z').getHours('America/New_York')", 18),
    ("time", "timestamp('2024-01-01T00:00:00Z').getDayOfWeek()", 1),
    ("time", "timestamp('not a time')", ERR),
    ("time", "duration('1.5s') == duration('1500ms')", True),
    ("time", "string(timestamp('2024-01-01T00:00:00Z'))", "2024-01-01T00:00:00Z"),
    ("time", "timestamp('9999-12-31T23:59:59Z') + duration('1s')", ERR),
    ("logic", "has({'a': 1}.a)", True),
    ("logic", "has({'a': 1}.b)", False),
    ("logic", "{'a': 1}.b", ERR),
    ("logic", "false && (1 / 0 > 0)", False),
    ("logic", "(1 / 0 > 0) || true", True),
    ("logic", "true ? 1 : 1 / 0", 1),
    ("logic", "null == null", True),
    ("logic", "type(1) == int", True),
    ("logic", "42 || false", ERR),
    ("logic", "!true", False),
]
_BATCH = 5000
_COMPILES = 100


class Library:
    """One CEL library behind one interface: compile once, run with plain Python values."""

    name = ""
    module = ""
    slow = False

    def __init__(self) -> None:
        """Import the library (ImportError when the interpreter lacks it)."""
        self.mod: Any = importlib.import_module(self.module)

    def compile(self, source: str) -> Any:
        """Compile `source` into a program."""
        raise NotImplementedError

    def run(self, program: Any, variables: dict[str, Any]) -> Any:
        """Evaluate `program`; raise when the result is a CEL error."""
        raise NotImplementedError

    def plain(self, value: Any) -> Any:
        """The result as plain Python values."""
        return value


class CppCel(Library):
    """cel-expr-python: Google's C++ CEL, declared the way `sagaway.filters` declares it."""

    name, module = "cel-expr-python", "cel_expr_python.cel"

    def __init__(self) -> None:
        """Build the environment with `data` and `event` as maps of dynamic values."""
        super().__init__()
        kind = self.mod.Type
        variables = {
            "data": kind.Map(kind.STRING, kind.DYN),
            "event": kind.Map(kind.STRING, kind.DYN),
        }
        self.env: Any = self.mod.NewEnv(variables=variables)

    def compile(self, source: str) -> Any:
        """Parse and type-check `source`."""
        return self.env.compile(source)

    def run(self, program: Any, variables: dict[str, Any]) -> Any:
        """Evaluate; an error comes back as a value, so raise it."""
        value = program.eval(data=variables)
        if value.type() == self.mod.Type.ERROR:
            raise RuntimeError(str(value.value()))
        return value.plain_value()


class RustCel(Library):
    """common-expression-language: the Rust `cel` crate."""

    name, module = "common-expression-language", "cel"

    def compile(self, source: str) -> Any:
        """Parse `source`."""
        return self.mod.compile(source)

    def run(self, program: Any, variables: dict[str, Any]) -> Any:
        """Evaluate; errors raise."""
        return program.execute(variables)


class PyCel(Library):
    """cel-python: a pure Python interpreter over a lark parse tree."""

    name, module, slow = "cel-python", "celpy", True

    def __init__(self) -> None:
        """Build the default environment."""
        super().__init__()
        self.env: Any = self.mod.Environment()

    def compile(self, source: str) -> Any:
        """Parse `source` and make its program."""
        return self.env.program(self.env.compile(source))

    def run(self, program: Any, variables: dict[str, Any]) -> Any:
        """Convert the values to CEL's, evaluate; an error may come back as a value."""
        activation = {name: self.mod.json_to_cel(value) for name, value in variables.items()}
        result = program.evaluate(activation)
        if isinstance(result, self.mod.CELEvalError):
            raise result
        return result

    def plain(self, value: Any) -> Any:
        """A celtypes value (a subclass of a Python type) as that Python type."""
        # BoolType subclasses int (bool cannot be subclassed): it is tested first.
        if isinstance(value, self.mod.celtypes.BoolType):
            return bool(value)
        casts: tuple[type[Any], ...] = (int, float, str, bytes)
        for cast in casts:
            if isinstance(value, cast):
                return cast(value)
        return value


LIBRARIES: list[type[Library]] = [CppCel, RustCel, PyCel]


def _say(line: str = "") -> None:
    """Write one line of the report."""
    sys.stdout.write(line + "\n")


def _plain(lib: Library, value: Any) -> Any:
    """A result as plain Python values, containers included."""
    value = lib.plain(value)
    if isinstance(value, bytearray):  # cel-expr-python's bytes
        return bytes(value)
    if isinstance(value, list):
        return [_plain(lib, item) for item in value]
    if isinstance(value, dict):
        return {_plain(lib, k): _plain(lib, v) for k, v in value.items()}
    return value


def _same(got: Any, want: Any) -> bool:
    """Equal and of the same type, all the way down (CEL's 1 is not 1.0, nor true)."""
    if type(got) is not type(want):
        return False
    if isinstance(want, list):
        return len(got) == len(want) and all(map(_same, got, want))
    if isinstance(want, dict):
        return bool(got.keys() == want.keys()) and all(_same(got[k], want[k]) for k in want)
    return bool(got == want)


def _inputs(count: int) -> list[dict[str, Any]]:
    """`count` fresh variable sets, parsed from JSON like an arriving event's."""
    return [{"data": json.loads(DATA), "event": json.loads(EVENT)} for _ in range(count)]


def _compile_us(lib: Library, source: str) -> float:
    """Median µs to compile `source`."""
    samples = []
    for _ in range(_COMPILES):
        start = time.perf_counter_ns()
        lib.compile(source)
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1e3


def _eval_us(lib: Library, program: Any, calls: int) -> float:
    """Median µs of one evaluation with its own fresh inputs, over `calls` calls."""
    clock = time.perf_counter_ns
    samples: list[int] = []
    while len(samples) < calls:
        batch = _inputs(min(_BATCH, calls - len(samples)))
        # Collections caused by the harness's own allocations would land in timed calls.
        gc.disable()
        try:
            for variables in batch:
                start = clock()
                lib.run(program, variables)
                samples.append(clock() - start)
        finally:
            gc.enable()
    return statistics.median(samples) / 1e3


def _spread(values: list[float]) -> str:
    """min / median / max."""
    return " / ".join(f"{v:.1f}" for v in (min(values), statistics.median(values), max(values)))


def speed(lib: Library, calls: int, rounds: int) -> list[list[str]]:
    """Table rows: per expression, compile and evaluation µs over `rounds` rounds."""
    rows = []
    for key, source in EXPRESSIONS.items():
        program = lib.compile(source)
        result = _plain(lib, lib.run(program, _inputs(1)[0]))
        if result is not True:
            rows.append([lib.name, key, f"gave {result!r}, not true", ""])
            continue
        for variables in _inputs(min(200, calls)):  # warm caches and lazy planning
            lib.run(program, variables)
        compiles, evals = [], []
        for _ in range(rounds):
            compiles.append(_compile_us(lib, source))
            evals.append(_eval_us(lib, program, calls))
        rows.append([lib.name, key, _spread(compiles), _spread(evals)])
    return rows


def conformance(lib: Library) -> tuple[dict[str, list[int]], list[str]]:
    """Passed and total per category, and the failing cases with what they gave."""
    counts: dict[str, list[int]] = {}
    failures = []
    for category, source, want in CASES:
        try:
            got = _plain(lib, lib.run(lib.compile(source), {"data": {}, "event": {}}))
            detail = repr(got)
        except Exception as err:  # every library raises its own kinds
            got, detail = ERR, f"error {type(err).__name__}: {str(err).splitlines()[0][:70]}"
        ok = got is ERR if want is ERR else got is not ERR and _same(got, want)
        tally = counts.setdefault(category, [0, 0])
        tally[0] += ok
        tally[1] += 1
        if not ok:
            expected = "an error" if want is ERR else repr(want)
            failures.append(f"{lib.name} [{category}] {source}: want {expected}, got {detail}")
    return counts, failures


def _table(header: list[str], rows: list[list[str]]) -> None:
    """Write a Markdown table with its columns padded, readable as plain text too."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        _say("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")


def main() -> None:
    """Measure every installed library and write the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=20000, help="calls per round (native)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    libraries: list[Library] = []
    for cls in LIBRARIES:
        try:
            libraries.append(cls())
        except ImportError as err:
            _say(f"skipped {cls.name}: {err}")
    slow_calls = max(1, args.calls // 20)
    _say(f"Python {sys.version.split()[0]}; {args.rounds} rounds of {args.calls} calls")
    _say(f"({slow_calls} for cel-python); µs as min / median / max of the per-round medians")
    for key, source in EXPRESSIONS.items():
        _say(f"{key}: {source}")
    _say()
    speed_rows, counts, failures = [], [], []
    for lib in libraries:
        try:
            version = importlib.metadata.version(lib.name)
        except importlib.metadata.PackageNotFoundError:
            version = "?"
        calls = slow_calls if lib.slow else args.calls
        for row in speed(lib, calls, args.rounds):
            speed_rows.append([row[0], version, *row[1:]])
        per_category, failed = conformance(lib)
        passed = sum(p for p, _ in per_category.values())
        cells = [f"{p}/{t}" for p, t in per_category.values()]
        counts.append([lib.name, *cells, f"{passed}/{len(CASES)}"])
        failures += failed
    categories = list(dict.fromkeys(category for category, _, _ in CASES))
    _table(["library", "version", "expr", "compile µs", "eval µs per call"], speed_rows)
    _say()
    _table(["library", *categories, "total"], counts)
    _say()
    for failure in failures:
        _say(f"FAIL {failure}")


if __name__ == "__main__":
    main()
