import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"


def test_engine_never_imports_django():
    modules = [".".join(p.relative_to(ENGINE.parent).with_suffix("").parts) for p in ENGINE.rglob("*.py")]
    modules = [m.removesuffix(".__init__") for m in modules if not m.endswith("__main__")]
    code = f"import sys, importlib\nfor m in {modules!r}: importlib.import_module(m)\nprint('django' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ENGINE.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
