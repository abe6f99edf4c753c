"""The rule by which any Unicode value becomes a workflow id, a search attribute or a header."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sagaway.ids import MAX_BYTES, bounded, header_value

text = st.text(st.characters(exclude_categories=["Cs"]))


def test_a_value_that_fits_is_kept_as_it_is() -> None:
    assert bounded("order-é-€-😀") == "order-é-€-😀"
    assert header_value("order-o-123/charge_payment") == "order-o-123/charge_payment"


def test_header_values_encode_what_the_http_binding_encodes() -> None:
    assert header_value('€ 100% "x"') == "%E2%82%AC%20100%25%20%22x%22"


@given(text, text)
def test_bounded_values_fit_and_stay_distinct(a: str, b: str) -> None:
    long_a, long_b = a * 50 + "x" * 300, b * 50 + "x" * 300
    for value in (a, long_a):
        assert len(bounded(value).encode()) <= MAX_BYTES
    if long_a != long_b:
        assert bounded(long_a) != bounded(long_b)


@given(text, text)
def test_header_values_are_printable_ascii_and_distinct(a: str, b: str) -> None:
    encoded = header_value(a)
    assert all("\x21" <= c <= "\x7e" and c != '"' for c in encoded)
    if a != b:
        assert encoded != header_value(b)
