"""Smoke test of the benchmarks: they run and print a table with a ratio. No timing is asserted."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_passthrough_benchmark_prints_a_table_with_a_ratio():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--only", "passthrough"],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| size | frames | ours fps | ffmpeg fps | ratio |" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("| 240p"))
    assert re.search(r"\| \d+\.\d\dx \|", row), row


def test_an_unknown_benchmark_is_refused():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--only", "colorize"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unknown benchmark colorize" in result.stderr


def test_quick_storage_benchmark_prints_its_tables_with_ratios():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "storage.py"), "--quick"],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in result.stdout.splitlines()
            if line.startswith("|")]
    assert ["MB", "operation", "S3 ms", "S3 MB/s", "copy ms", "copy MB/s", "time ratio S3 / copy"] == rows[0][:7]
    upload = next(row for row in rows if row[:2] == ["16", "upload"])
    assert re.fullmatch(r"\d+\.\d\dx", upload[6]), upload
    total = next(line for line in result.stdout.splitlines() if line.startswith("| total per minute of video"))
    assert re.search(r"\| \d+\.\d\dx +\|", total), total
