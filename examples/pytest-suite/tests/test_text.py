"""Short text-handling tests."""
import time

import pytest


@pytest.mark.parametrize("word", ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"])
def test_upper(word):
    time.sleep(0.05)
    assert word.upper().lower() == word


def test_split_lines():
    time.sleep(0.1)
    assert "a\nb\r\nc".splitlines() == ["a", "b", "c"]


def test_slow_render():
    time.sleep(1.5)
    assert "".join(reversed("render")) == "redner"
