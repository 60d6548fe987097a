"""Benchmark (peers): the types and helpers every peer adapter shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import threads


class PeerUnavailable(Exception):
    """The peer cannot handle this expression / is not installed."""


def _jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    return jax


def _torch():
    import torch
    torch.set_num_threads(threads.THREADS)
    return torch


@dataclass
class Prepared:
    peer: str
    forward: Callable
    value_and_grad: Callable
    forward_scalar: Callable | None = None
    value_and_grad_scalar: Callable | None = None
    alt_scalar: dict = field(default_factory=dict)   # name -> value_and_grad on floats
    info: dict = field(default_factory=dict)
    keep: list = field(default_factory=list)         # objects to keep alive


def _full(g, shape):
    """Broadcast constant partials (e.g. d(x+y)/dy = 1) to the batch shape."""
    if type(g) is np.ndarray and g.shape == shape:
        return g  # already one (np.shape is a Python call: kept off the common case)
    if np.shape(g) != shape:
        return np.broadcast_to(np.asarray(g, dtype=np.float64), shape)
    return g


def _lazy(factory):
    """Build ``factory()`` on first use (keeps optional paths out of prep time)."""
    box = []

    def get():
        if not box:
            box.append(factory())
        return box[0]
    return get


def _split(out):
    return out[0], tuple(out[1:])
