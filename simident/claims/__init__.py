"""The claims of THEORY.md as experiments on models trained from scratch (`simident reproduce`).

config.py               modes (quick / full / tiny): worlds, dimensions, seeds, steps
context.py              worlds, cells (through `simident.study`), trained runs
comparisons.py          the comparisons between those models, each computed once
refs.py                 RunKey (a trained configuration) and ModelRef (one model)
verdicts.py             thresholds and the pure decision functions (numbers → verdict)
claim1_equivalence.py … claim7_language.py   one module per claim, one interface:
                        ID, TITLE, STATEMENT, requests(ctx) → [RunKey | Cell],
                        evidence(ctx) → Evidence (frozen; measures), checks(ev, th) →
                        [Check] (decides), figures(ev, folder, th) → [path] (draws),
                        present(ev, ctx) → Presentation (key numbers, tables, notes);
                        `run.run_claim` composes them
figures.py, report.py   PNG figures; claim records, report.md and results.json
outdir.py               the output folder: resume in place, or stage and swap (--overwrite)
run.py                  run_all: plan, reuse or train, run the claims, write the report
table.py                the claim records as pandas DataFrames (`simident.load`)
"""
