"""docs/compatibility.md says which Redis 7.0 commands ferrokv has: it is
regenerated from both servers' COMMAND DOCS and must match the file."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_compatibility_page_is_current():
    run = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "compatibility.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout
