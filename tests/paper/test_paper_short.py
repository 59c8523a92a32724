"""Shortened paper reproductions (benchmarks/paper): the tables' ordering holds early on.

The full runs and their numbers are in docs/paper_reproduction.md.
"""

from __future__ import annotations

import math

import torch

from benchmarks.paper import linear_tracking, teacher_student
from benchmarks.paper.teacher_student import FAST, STABLE


def test_linear_tracking_fade_below_weight_decay_below_sgd():
    mse = {m: linear_tracking.run(m, 0.0, steps=4000, seeds=3).mse.mean() for m in
           ("SGD", "SGD+WD", "FADE")}  # fmt: skip
    assert mse["FADE"] < 0.95 * mse["SGD+WD"] < 0.95 * mse["SGD"]


def test_linear_tracking_fade_forgets_irrelevant_weights_fast_and_relevant_ones_slowly():
    result = linear_tracking.run("FADE", 0.0, steps=4000, seeds=3)
    init_decay = math.exp(linear_tracking.METHODS["FADE"].hyper[0.0]["gamma0"])  # about 0.30
    assert result.weights_irrelevant_decay > 1.3 * init_decay
    assert result.weights_relevant_decay < init_decay / 3


def test_teacher_student_fade_sgd_below_sgd_and_decays_faster_on_fast_outputs():
    torch.set_num_threads(1)  # the same arithmetic on every machine
    sgd = teacher_student.run("SGD", steps=8000, seeds=5)
    fade = teacher_student.run("FADE+SGD", steps=8000, seeds=5)
    assert fade.mse.mean() < sgd.mse.mean()
    decays = fade.head_decays
    assert decays[list(FAST)].mean() > decays[list(STABLE)].mean()
