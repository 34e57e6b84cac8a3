"""One tiny reproduction shared by the reproduce tests (read it; copy it to change it)."""

import pytest

from simident.cli.main import main


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce") / "out"
    assert main(["reproduce", "--tiny", "--out", str(out), "--quiet"]) == 0
    return out
