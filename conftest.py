"""Run every notebook in `nbs/` as one pytest item through nbdev's own runner, so nbdev's
directives (`#| eval: false`, `tst_flags`, `skip_exec`) keep their meaning.

Cells flagged with a `[tool.nbdev] tst_flags` flag (`slow`, `cuda`) are skipped unless the flag
is listed in the environment variable `IMGSEARCH_TEST_FLAGS` (e.g. `IMGSEARCH_TEST_FLAGS=slow`).

Under pytest-xdist (`tools/test.sh` runs `-n 2 --dist loadgroup`) the items that share something run on one worker,
one after another: every user of the shared sample (one builds it, others copy it, and the suggest and app notebooks
write into it), the two Ray notebooks (two Ray clusters at once would crowd a small machine), and each test module
(its module-scoped fixtures start one server or browser)."""
import io, os, contextlib, tempfile
from pathlib import Path
import pytest

def pytest_configure(config):
    "One sample collection per test run: the notebooks that call `build_sample()` share it (the first one builds it)."
    os.environ.setdefault('IMGSEARCH_SAMPLE', tempfile.mkdtemp(prefix='imgsearch-sample-'))

def _group(item):
    path = Path(str(item.fspath))
    text = path.read_text(encoding='utf-8')
    if 'build_sample(' in text or 'explore_folder(' in text: return 'sample'
    if 'import ray' in text or "'--ray'" in text: return 'ray'
    if path.suffix == '.py': return path.stem

@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        if (g := _group(item)): item.add_marker(pytest.mark.xdist_group(g))

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
