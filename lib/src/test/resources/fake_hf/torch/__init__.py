"""Test double of the few torch calls environment/hf_baseline.py makes (see ../README.md)."""
import contextlib

import numpy as np

__version__ = "0.0-fake"
float16, float32, long, bool = "float16", "float32", "int64", "bool"  # noqa: A001
_NP = {"float16": np.float16, "float32": np.float32, "int64": np.int64, "bool": np.bool_}


class Tensor(np.ndarray):
    @property
    def device(self):
        return "cpu"

    def to(self, device):
        return self


def _t(a):
    return np.asarray(a).view(Tensor)


def full(shape, value, dtype=None, device=None):
    return _t(np.full(shape, value, dtype=_NP[dtype]))


def zeros(shape, dtype=None, device=None):
    return _t(np.zeros(shape, dtype=_NP[dtype]))


def tensor(data, dtype=None):
    return _t(np.array(data, dtype=_NP[dtype]))


def ones_like(t):
    return _t(np.ones_like(t))


def manual_seed(seed):
    np.random.seed(seed)


def get_num_threads():
    return 1


@contextlib.contextmanager
def inference_mode():
    yield


class _Version:
    cuda = None


version = _Version()


class cuda:  # noqa: N801
    @staticmethod
    def is_available():
        return False

    @staticmethod
    def synchronize():
        pass
