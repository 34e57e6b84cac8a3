"""What every stage shares and none owns: errors, files, memory estimates, environment.

errors     SimidentError: the one-line user error (exit 2 at the CLI)
io         atomic writes, JSON/npz reads with messages naming the file
integrity  checksums and bounded reads of the files simident writes
arrays     validation of (F, G) arrays at the boundary
memory     estimates before allocating, with a clear refusal
env        versions and devices recorded in every result
dims       "k" / "d" / integer dimension expressions
plotting   the matplotlib style of the figures
"""
