"""The claims' figures are standalone Figures: no pyplot, the caller's backend kept."""

import subprocess
import sys


def test_claim_figures_leave_pyplot_and_the_backend_alone(tmp_path):
    path = tmp_path / "f.png"
    code = (
        "import sys, matplotlib; matplotlib.use('svg'); "
        "from simident.claims import figures; "
        "panels = [('p', [('s', [2, 3], [0.9, 0.999], 'o')], {'truth': 1.0})]; "
        f"out = figures.one_minus_r2(panels, 0.99, {str(path)!r}, 't', 'y'); "
        "assert open(out, 'rb').read(8) == b'\\x89PNG\\r\\n\\x1a\\n'; "
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert path.is_file()
