"Refusals of `rmkd_nb.cache.TeacherCache` (moved out of nbs/03_cache.ipynb): damaged entries, wrong data, bad idx."
import shutil
import numpy as np
import pytest
import torch
from datasets import ClassLabel, DatasetDict
from rmkd_nb.cache import TeacherCache
from rmkd_nb.core import ConfigError
from rmkd_nb.data import toy_task
from rmkd_nb.teachers import TfidfTeacher

NAMES = ["negative", "positive"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    "A TF-IDF teacher and its cache entry on a toy task."
    ds = toy_task(40, 12, seed=1)
    t = TfidfTeacher.fit(ds["train"]["text"], ds["train"]["label"], NAMES, name="tt")
    cache = TeacherCache.build([t], ds, tmp_path_factory.mktemp("cache"), progress=False)
    return t, ds, cache


def test_in_memory_refusals():
    L, Y = np.zeros((4, 2, 2)), np.array([0, 1, 0, 1])
    c = TeacherCache.from_arrays(L, Y)
    with pytest.raises(ConfigError, match="no split 'test'"):
        c.gather([0], split="test")
    with pytest.raises(ConfigError, match=r"logits must be \(N, K, C\) and labels \(N,\); got \(4, 2\), \(4,\)"):
        TeacherCache.from_arrays(L[:, 0], Y)
    with pytest.raises(ConfigError, match="negative idx -1"):
        TeacherCache.from_arrays(L, Y, idx=[-1, 0, 1, 2])
    c.to("cpu")
    with pytest.raises(ConfigError, match=r"idx \[9\] not in the teacher cache's 'train' split"):
        c.gather(torch.tensor([9]))


def test_build_refusals(built, tmp_path):
    t, ds, _ = built
    flipped = ds["train"].cast_column("label", ClassLabel(names=["positive", "negative"]))
    with pytest.raises(ConfigError, match=r"are not the dataset's \['positive', 'negative'\] in that order"):
        TeacherCache.build([t], DatasetDict({"train": flipped}), tmp_path, splits=["train"])
    with pytest.raises(ConfigError, match="no teachers given"):
        TeacherCache.build([], ds, tmp_path)
    with pytest.raises(ConfigError, match="does not follow the Teacher protocol"):
        TeacherCache.build([object()], ds, tmp_path)
    with pytest.raises(ConfigError, match=r"the dataset has no split 'test'; it has \['train', 'validation'\]"):
        TeacherCache.build([t], ds, tmp_path, splits=["test"])
    with pytest.raises(ConfigError, match="the dataset's 'train' split is empty"):
        TeacherCache.build([t], DatasetDict({"train": ds["train"].select([])}), tmp_path, splits=["train"])


def test_incomplete_entry_is_not_overwritten(built, tmp_path):
    t, ds, cache = built
    (tmp_path/cache.fingerprint).mkdir()
    with pytest.raises(ConfigError, match="exists but is incomplete"):
        TeacherCache.build([t], ds, tmp_path, progress=False)


def test_leftover_temporary_entry_is_refused(built, tmp_path):
    _, _, cache = built
    left = tmp_path/f".tmp-{cache.fingerprint}-x1y2"; shutil.copytree(cache.path, left)
    with pytest.raises(ConfigError, match="not a complete teacher-cache entry"):
        TeacherCache.open(left)


def _damaged(cache, d, how):
    shutil.copytree(cache.path, d); f = d/"train"/"logits.npy"
    if how == "truncate": f.write_bytes(f.read_bytes()[:-40])
    elif how == "header": b = bytearray(f.read_bytes()); b[:10] = b"garbage!!!"; f.write_bytes(bytes(b))
    elif how == "missing": f.unlink()
    elif how == "meta": (d/"meta.json").write_text("{")
    elif how == "version": m = (d/"meta.json"); m.write_text(m.read_text().replace('"version": 1', '"version": 99'))
    return d


@pytest.mark.parametrize("how,msg", [("truncate", "train/logits.npy is truncated or corrupted"),
                                     ("header", "train/logits.npy cannot be read"),
                                     ("missing", "train/logits.npy is missing"),
                                     ("meta", "meta.json cannot be read"),
                                     ("version", "has format version 99, this kit reads 1")])
def test_damaged_entries(built, tmp_path, how, msg):
    with pytest.raises(ConfigError, match=msg):
        TeacherCache.open(_damaged(built[2], tmp_path/f"dmg-{how}", how))
