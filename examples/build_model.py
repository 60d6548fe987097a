"""What the example scripts share: compile a source file with ``gradgen compile`` into NAME.py
beside it, and import the module it writes (the scripts then only use it)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType


def build_model(source: Path, *options: str, name: str | None = None) -> ModuleType:
    """Compile ``source`` with ``gradgen compile`` and the command line ``options`` into
    NAME.py beside it (``name``, else the source's stem) and import it; exit with gradgen's
    message if it cannot be compiled."""
    target = source.with_name(f"{name or source.stem}.py")
    command = [sys.executable, "-m", "gradgen", "compile", str(source), *options,
               "-o", str(target)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{Path(sys.argv[0]).name}: could not compile {source.name}:\n{result.stderr}")
    spec = importlib.util.spec_from_file_location(target.stem, target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
