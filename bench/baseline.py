"""``function/`` as it was at a git revision, loaded beside today's in the same process.

So a benchmark can time today's function and an older one call by call,
interleaved, under the same load, the same libraries and the same log
handler. The function's modules import one another by top-level name
(``import exchange``), so two versions cannot sit in ``sys.modules`` at once:
the baseline is imported with its own folder first on the path, its modules
are kept here and taken out of ``sys.modules``, and ``active()`` puts them
back around a call (an import run inside a function resolves through
``sys.modules`` when it runs).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def extract(revision: str, into: Path) -> Path:
    """``function/`` at a git revision, unpacked under ``into``; returns its folder."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "function"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "function"


@dataclass(frozen=True)
class Baseline:
    """An older function's modules, by name, ready to be called beside today's."""

    modules: dict[str, ModuleType]
    names: frozenset[str]
    """Every function module name of either version: what ``active()`` swaps."""

    @property
    def handler(self) -> ModuleType:
        return self.modules["handler"]

    @contextmanager
    def active(self) -> Iterator[None]:
        """The baseline's modules in ``sys.modules`` for the block, today's put back after it."""
        today = _take(self.names)
        sys.modules.update(self.modules)
        try:
            yield
        finally:
            _take(self.names)
            sys.modules.update(today)


def load(directory: Path, today: Path) -> Baseline:
    """Import ``handler`` (and with it the container's init) from an older ``function/`` folder (``extract``).

    The environment must already be the function's: its container reads
    ``os.environ`` on import, as today's does. ``today`` is the current
    ``function/`` folder, whose modules stay where they are.
    """
    names = frozenset(path.stem for folder in (directory, today) for path in folder.glob("*.py"))
    kept = _take(names)
    sys.path.insert(0, str(directory))
    try:
        importlib.import_module("handler")
        modules = _take(names)
    finally:
        sys.path.remove(str(directory))
        sys.modules.update(kept)
    strays = sorted(name for name, module in modules.items() if Path(module.__file__ or "").parent != directory)
    if strays:
        raise SystemExit(f"the baseline in {directory} imported {strays} from outside its own folder")
    return Baseline(modules, names)


def _take(names: frozenset[str]) -> dict[str, ModuleType]:
    """Remove these modules from ``sys.modules``; returns those that were there."""
    return {name: sys.modules.pop(name) for name in names if name in sys.modules}
