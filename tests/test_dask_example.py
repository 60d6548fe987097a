"""examples/dask_logistic.py on a small LocalCluster (2 workers): the logistic regression's value
and gradient computed where the data chunks live agree with NumPy's (issue 15, point 2)."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("dask.array")
pytest.importorskip("dask.distributed")

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_dask_example_agrees_with_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    sys.modules.pop("dask_logistic", None)
    import dask_logistic

    result = dask_logistic.main(["--samples", "30000", "--chunk", "4000", "--features", "8",
                                 "--check"])
    assert result["error"] < 1e-12
    assert result["w_bar"].shape == (8,)
