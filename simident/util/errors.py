"""User-facing errors: the CLI prints them on one line and exits with code 2."""


class SimidentError(ValueError):
    """Bad input (file, field, argument). The message names what is wrong and where."""
