"""Resumable sweeps over world diversity × learner × seeds (`simident sweep`, `simident plot`).

spec.py      TOML → validated SweepSpec (unknown keys rejected, naming the key)
grid.py      the flat, indexable list of cells
evaluate.py  one cell: world, vmapped training, one row per seed pair
store.py     cell files written atomically, results.csv rebuilt in cell order
run.py       run_sweep: skip finished cells, run the rest
table.py     the results as a pandas DataFrame (`load`)
plot.py      heatmaps over two swept axes (facets for the rest); line and scatter plots
             of any metric against any axis or column
"""


def load(out):
    """The rows of the sweep in folder `out` (finished cells) as a pandas DataFrame: one
    row per seed pair, with the swept axes, the cell's settings and every number
    (`simident.sweeps.table`)."""
    from simident.sweeps.table import load as _load

    return _load(out)
