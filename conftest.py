"""Run every notebook in `nbs/` as one pytest item through nbdev's own runner, so nbdev's
directives (`#| eval: false`, `tst_flags`, `skip_exec`) keep their meaning.

Cells flagged with a `[tool.nbdev] tst_flags` flag (`slow`, `cuda`) are skipped unless the flag
is listed in the environment variable `IMGSEARCH_TEST_FLAGS` (e.g. `IMGSEARCH_TEST_FLAGS=slow`)."""
import io, os, contextlib, tempfile
from pathlib import Path
import pytest

def pytest_configure(config):
    "One sample collection per test run: the notebooks that call `build_sample()` share it (the first one builds it, a lock holds back the other test processes)."
    os.environ.setdefault('IMGSEARCH_SAMPLE', tempfile.mkdtemp(prefix='imgsearch-sample-'))

def pytest_collect_file(parent, file_path):
    if file_path.suffix == '.ipynb' and not file_path.name.startswith('_') and '.ipynb_checkpoints' not in file_path.parts:
        return NotebookFile.from_parent(parent, path=file_path)

class NotebookFile(pytest.File):
    def collect(self): yield NotebookItem.from_parent(self, name=self.path.name)

class NotebookFailed(Exception): pass

class NotebookItem(pytest.Item):
    def runtest(self):
        from nbdev.config import get_config
        from nbdev.test import test_nb
        cfg = get_config()
        force = os.environ.get('IMGSEARCH_TEST_FLAGS', '').split()
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            ok, secs = test_nb(self.path, skip_flags=cfg.tst_flags.split(), force_flags=force,
                               basepath=str(cfg.config_path))
        if not ok: raise NotebookFailed(err.getvalue()[-20000:])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, NotebookFailed): return f'notebook {self.path.name} failed:\n{excinfo.value}'
        return super().repr_failure(excinfo)

    def reportinfo(self): return self.path, 0, f'notebook: {self.path.name}'
