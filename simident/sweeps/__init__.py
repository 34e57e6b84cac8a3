"""Resumable sweeps over world diversity × learner × seeds (`simident sweep`, `simident plot`).

spec.py      TOML → validated SweepSpec (unknown keys rejected, naming the key)
grid.py      the flat, indexable list of cells
evaluate.py  one cell: world, vmapped training, one row per seed pair
store.py     cell files written atomically, results.csv rebuilt in cell order
run.py       run_sweep: skip finished cells, run the rest
table.py     the results as a pandas DataFrame (`simident.load`)
plot.py      heatmaps over two swept axes (facets for the rest); line and scatter plots
             of any metric against any axis or column
"""
