"""simident: simulate identifiability of next-token predictors p(y|s) = softmax(f(s)·g(y)).

Stages of the pipeline, one sub-package each:
  theory/    the mathematics of THEORY.md (equivalence, spans, properties P1-P5, constructors)
  worlds/    synthetic ground-truth distributions with controlled diversity
  models/    Flax NNX next-token predictors (table, transformer)
  training/  many seeds trained in one jitted program
  claims/    one experiment per claim, used by `simident reproduce`
  sweeps/    resumable grids over diversity and learner settings
Importing the package does no work.
"""

__version__ = "0.1.0"
