"""One module per CLI subcommand: `configure(parser)` adds arguments, `run(args)` does it."""
