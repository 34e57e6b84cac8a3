"""The command line: a thin layer over the typed API.

`main.py` dispatches; every subcommand lives in its own module here with
`configure(parser)` and `run(args) -> int`. User errors (SimidentError) print one line
and exit with code 2.
"""
