"""Synthetic worlds: ground-truth next-token distributions with controlled diversity.

A world is a ground truth (F*, G*) with exact dim E, dim U and k over its contexts, the
token sequences of those contexts, planted linear properties (relations, probes, parallel
unembedding differences) and the data to train on. Public API:

  WorldSpec                 validated spec (from_toml, from_dict, to_dict)
  generate_world(spec)      → World
  World, load_world(dir)    the container and its on-disk form (World.save)
  example_spec(name), example_names()   the specs shipped in simident/data/worlds/
  LanguageSpec, HMMSpec     process worlds (`kind = "language"`, `kind = "hmm"`)
  Process, sample_world     the process protocol and a user process's world
"""

from simident.worlds.examples import (
    example_kind,
    example_names,
    example_path,
    example_spec,
    resolve_spec,
)
from simident.worlds.generator import generate_world
from simident.worlds.process import Process, sample_world
from simident.worlds.process_spec import AttributeSpec, HMMSpec, LanguageSpec, spec_from_dict
from simident.worlds.spec import ProbeSpec, QuerySpec, WorldSpec
from simident.worlds.toy import toy_world
from simident.worlds.world import World, load_world

__all__ = [
    "AttributeSpec",
    "HMMSpec",
    "LanguageSpec",
    "Process",
    "ProbeSpec",
    "QuerySpec",
    "World",
    "WorldSpec",
    "example_kind",
    "example_names",
    "example_path",
    "example_spec",
    "generate_world",
    "load_world",
    "resolve_spec",
    "sample_world",
    "toy_world",
    "spec_from_dict",
]
