"""Synthetic worlds: ground-truth next-token distributions with controlled diversity.

A world is a ground truth (F*, G*) with exact dim E, dim U and k over its contexts, the
token sequences of those contexts, planted linear properties (relations, probes, parallel
unembedding differences) and the data to train on. Public API:

  WorldSpec                 validated spec (from_toml, from_dict, to_dict)
  generate_world(spec)      → World
  World, load_world(dir)    the container and its on-disk form (World.save)
  example_spec(name), example_names()   the specs shipped in simident/data/worlds/
"""

from simident.worlds.examples import example_names, example_path, example_spec, resolve_spec
from simident.worlds.generator import generate_world
from simident.worlds.spec import ProbeSpec, QuerySpec, WorldSpec
from simident.worlds.world import World, load_world

__all__ = [
    "ProbeSpec",
    "QuerySpec",
    "World",
    "WorldSpec",
    "example_names",
    "example_path",
    "example_spec",
    "generate_world",
    "load_world",
    "resolve_spec",
]
