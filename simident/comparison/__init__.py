"""How two models relate and which linear properties they share: the typed entry point.

  model       Model(F, G): a model by its matrices, validated; load / save
  properties  property specs P1-P5 (validated on construction, JSON form)
  api         compare(a, b) -> Comparison, PropertyResult with typed per-kind scores
  report      the text tables of `simident compare`

(The folder is `comparison/`, not `compare/`: `simident.compare` is the function.)
"""
