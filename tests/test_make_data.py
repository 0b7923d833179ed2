"""tools/make_data.py reproduces the shipped data and trait configs byte for byte: the tiny model's cache key
hashes ampli/data, and the offline judge's lexicons must match the words the seed sets were written with."""

import subprocess
import sys

from tests.conftest import CONF, ROOT

DATA = ROOT / "ampli" / "data"


def test_make_data_reproduces_the_shipped_files(tmp_path):
    done = subprocess.run([sys.executable, "tools/make_data.py", "--data", str(tmp_path / "data"),
                           "--traits", str(tmp_path / "trait")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    written = sorted(p.relative_to(tmp_path / "data") for p in (tmp_path / "data").rglob("*.jsonl"))
    assert written == sorted(p.relative_to(DATA) for p in DATA.rglob("*.jsonl"))
    for rel in written:
        assert (tmp_path / "data" / rel).read_bytes() == (DATA / rel).read_bytes(), rel
    traits = sorted(p.name for p in (tmp_path / "trait").glob("*.yaml"))
    assert len(traits) == 7
    for name in traits:
        assert (tmp_path / "trait" / name).read_bytes() == (CONF / "trait" / name).read_bytes(), name
