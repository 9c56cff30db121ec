"""The cache of synthesized cloud assemblies (`workspace/deploy.py`): pruned, but never under a deploy."""

import os
import time
from pathlib import Path

import pytest

from workspace import deploy


def test_old_assemblies_go_but_none_another_deploy_may_still_be_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deploy, "ASSEMBLIES", tmp_path)
    now = time.time()
    ages = {f"old{i}": deploy.ASSEMBLY_IN_USE_SECONDS + 100 + i for i in range(3)}
    ages |= {f"recent{i}": 60 + i for i in range(deploy.ASSEMBLIES_KEPT + 2)}  # more than are kept
    ages["old-one.being-written"] = deploy.ASSEMBLY_IN_USE_SECONDS * 2
    for name, age in ages.items():
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (now - age, now - age))

    deploy._prune_assemblies()

    left = {p.name for p in tmp_path.iterdir()}
    assert left == set(ages) - {"old0", "old1", "old2"}
