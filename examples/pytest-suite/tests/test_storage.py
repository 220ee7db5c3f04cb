"""A small real pytest suite with skewed durations (see examples/README.md)."""
import json
import os
import time

import pytest


def test_roundtrip_large_index(tmp_path):
    time.sleep(2.0)
    data = {f"key{i}": i * i for i in range(5000)}
    path = tmp_path / "index.json"
    path.write_text(json.dumps(data))
    assert json.loads(path.read_text()) == data


def test_compaction(tmp_path):
    time.sleep(1.2)
    records = [("a", 1), ("b", 2), ("a", 3)]
    compacted = dict(records)
    assert compacted == {"a": 3, "b": 2}


@pytest.mark.parametrize("size", [1, 10, 100, 1000])
def test_chunking(size):
    time.sleep(0.05 * (size ** 0.25))
    chunks = [list(range(size))[i:i + 7] for i in range(0, size, 7)]
    assert sum(len(c) for c in chunks) == size


def test_checksum():
    time.sleep(0.1)
    import hashlib
    assert hashlib.sha256(b"abc").hexdigest().startswith("ba7816bf")


@pytest.mark.skipif(os.environ.get("SAMPLE_FEATURE") != "1", reason="SAMPLE_FEATURE not enabled")
def test_optional_backend():
    assert True


def test_deliberate_failure():
    time.sleep(0.2)
    expected = "total: 42"
    actual = "total: 41" if os.environ.get("SAMPLE_FAIL") == "1" else "total: 42"
    assert actual == expected
