"""Without Chromium, a test run that includes the browser tests stops and says how to get it: the
browser tests never skip quietly."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_pytest(*args, path: str):
    env = {k: v for k, v in os.environ.items() if k not in ("CHROMIUM", "PYTEST_ADDOPTS")}
    env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "pytest", "-q", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_run_with_browser_tests_and_no_chromium_stops_naming_the_install_command(tmp_path):
    # The quick browser test only (it needs no site), on a PATH with no chromium.
    result = run_pytest("tests/integration/test_csp_browser.py", "-k", "inline_script", path=str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 4, output  # pytest's usage error: not a pass, not "no tests"
    assert "Chromium is needed for the browser tests" in output and "`make browser`" in output
    assert "passed" not in output and "skipped" not in output and "failed" not in output  # stopped before any ran

