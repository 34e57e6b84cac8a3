"""The calibration study of compare's decided verdicts (THEORY.md §4, A4–A6).

`plan` lays out the cells (world family × samples per context × shared/independent data ×
learner), `verdicts` scores every decided verdict of a comparison against what the truth
implies for it, `study` runs the cells through the engine (`simident.study`, resumable)
and records each verdict at every margin pair of a grid, `reliability` chooses the band
margins on the calibration families and reports, on a family held out, the share decided
and the share of decided verdicts that are right; `figure` draws it.
"""
