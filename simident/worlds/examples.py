"""The example world specs shipped with the package (`simident/data/worlds/<name>.toml`).

`simident world NAME --out DIR` accepts these names wherever it accepts a spec path.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from simident.util.errors import SimidentError
from simident.worlds.process_spec import spec_from_toml


def _folder():
    return resources.files("simident").joinpath("data", "worlds")


def example_names() -> list[str]:
    """Names of the shipped example specs, sorted."""
    return sorted(p.name[: -len(".toml")] for p in _folder().iterdir() if p.name.endswith(".toml"))


def example_path(name: str) -> Path:
    """Path of a shipped example spec; unknown names list the known ones."""
    names = example_names()
    if name not in names:
        raise SimidentError(f"no example world '{name}' (examples: {', '.join(names)})")
    return Path(str(_folder().joinpath(f"{name}.toml")))


def example_spec(name: str):
    """The validated spec of a shipped example (WorldSpec, LanguageSpec or HMMSpec)."""
    return spec_from_toml(example_path(name))


def example_kind(name: str) -> str:
    """ "planted", "language" or "hmm": the kind of a shipped example."""
    return getattr(example_spec(name), "kind", "planted")


def resolve_spec(arg: str):
    """A spec (any kind) from a TOML path, or from an example name when no such file exists."""
    p = Path(arg)
    if p.suffix == ".toml" or p.is_file() or "/" in arg:
        return spec_from_toml(p)
    if arg in example_names():
        return example_spec(arg)
    raise SimidentError(
        f"{arg}: neither a spec file (.toml) nor an example world "
        f"(examples: {', '.join(example_names())})"
    )
