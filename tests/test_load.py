"""`simident.load`: the one table loader dispatches on the folder's kind and names the
tables a folder has (the sweep and reproduction tables are checked with their stages)."""

import pandas as pd
import pytest

import simident
from simident.util.errors import SimidentError


def test_a_calibration_folder_loads_its_tables(tmp_path):
    (tmp_path / "calibration.json").write_text("{}")
    pd.DataFrame({"family": ["a", "b"], "right": [1, 0]}).to_csv(
        tmp_path / "verdicts.csv", index=False
    )
    df = simident.load(tmp_path)  # default: the verdicts
    assert df["family"].tolist() == ["a", "b"] and df["right"].tolist() == [1, 0]
    with pytest.raises(SimidentError, match="comparisons"):  # not written yet: names the file
        simident.load(tmp_path, "comparisons")
    with pytest.raises(SimidentError, match="a calibration folder has comparisons, verdicts"):
        simident.load(tmp_path, "checks")


def test_a_folder_of_no_known_kind_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SimidentError, match="not a results folder"):
        simident.load(tmp_path)
