"""tf-maddpg compare: both sides train, and the plot, the report and the CSVs are written."""

import csv

import pytest

pytest.importorskip("torch")

from tf_maddpg.cli import main  # noqa: E402


def test_compare_writes_the_plot_the_report_and_every_run(tmp_path, capsys):
    out = tmp_path / "cmp"
    status = main(["compare", "simple_adversary_v3", "--seeds", "0", "--episodes", "4",
                   "--eval-interval", "2", "--eval-episodes", "1", "--batch-size", "32",
                   "--minimal-size", "32", "--update-interval", "10", "--hidden-sizes", "16",
                   "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "compare.md").read_text()
    assert report in printed and "tf seed 0:" in printed and "torch seed 0:" in printed
    assert "tf-maddpg compare simple_adversary_v3 --seeds 0 --episodes 4" in report
    rows = [line for line in report.splitlines() if line.startswith("| tf_maddpg")
            or line.startswith("| PyTorch reference")]
    assert len(rows) == 2 and all(row.count("+-") == 3 for row in rows)
    for side in ("tf", "torch"):
        with open(out / side / "seed0" / "metrics.csv") as f:
            runs = list(csv.DictReader(f))
        assert [r["episode"] for r in runs] == ["2", "4"]
        assert float(runs[-1]["env_steps"]) == 100
