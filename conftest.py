"""Run every notebook in `nbs/` as one pytest item through nbdev's own runner, so nbdev's
directives (`#| eval: false`, `tst_flags`, `skip_exec`) keep their meaning.

Cells flagged with a `[tool.nbdev] tst_flags` flag (`slow`, `cuda`) are skipped unless the flag
is listed in the environment variable `IMGSEARCH_TEST_FLAGS` (e.g. `IMGSEARCH_TEST_FLAGS=slow`)."""
import io, os, contextlib, tempfile
from pathlib import Path
import pytest

# The longest test files, longest first, as `pytest --durations=0` measured them (seconds of one run on 2 cores): they
# start first, so that the two test processes finish together instead of one waiting on a long file picked up last.
# Only the first of them needs the sample, which it builds while the other process runs the next ones.
LONGEST = ['tests/test_browser.py',       # 67: a gunicorn server on the sample and chromium
           'nbs/test_build.ipynb',        # 66: a Ray build, concurrent writers
           'tests/test_serve_trust.py',   # 63: a hostile collection built and served
           'tests/test_docs.py',          # 62: the docs site crawled in chromium
           'nbs/photos.ipynb',            # 61: seven commands on a folder of photos
           'nbs/03d_distributed.ipynb',   # 48: a local Ray cluster
           'nbs/11_scale.ipynb',          # 48: the scale and update benchmarks at tiny sizes
           'nbs/test_serve.ipynb',        # 33
           'nbs/06_train.ipynb',          # 31
           'nbs/08d_update.ipynb']        # 26

def pytest_configure(config):
    "One sample collection per test run: the notebooks that call `build_sample()` share it (the first one builds it, a lock holds back the other test processes)."
    os.environ.setdefault('IMGSEARCH_SAMPLE', tempfile.mkdtemp(prefix='imgsearch-sample-'))
    if hasattr(config.option, 'loadscopereorder'): config.option.loadscopereorder = False  # xdist: keep the order below

def pytest_collection_modifyitems(config, items):
    "The `LONGEST` files first, in that order; the others after them in their usual order."
    rank = {f: i for i, f in enumerate(LONGEST)}
    where = lambda item: rank.get(Path(str(item.path)).relative_to(config.rootpath).as_posix(), len(LONGEST))
    items.sort(key=where)  # stable: tests keep their order within a file

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
