"""Tasks: the one vocabulary of problem types, and the loss of each."""

import pytest

from jnnbasics.losses import LOSS_TYPES
from jnnbasics.tasks import LOSS_OF_TASK, TASKS, task_of_loss


def test_every_task_has_a_loss_that_maps_back_to_it():
    assert TASKS == ("binary", "multiclass", "regression")
    assert set(LOSS_OF_TASK) == set(TASKS)
    for task, loss in LOSS_OF_TASK.items():
        assert loss in LOSS_TYPES
        assert task_of_loss(loss) == task


@pytest.mark.parametrize(
    "loss, task",
    [
        ("cross_entropy", "multiclass"),
        ("bce_with_logits", "binary"),
        ("binary_cross_entropy", "binary"),
        ("mse", "regression"),
    ],
)
def test_task_of_loss(loss, task):
    assert task_of_loss(loss) == task


def test_every_loss_has_a_task():
    assert {task_of_loss(loss) for loss in LOSS_TYPES} == set(TASKS)


def test_task_of_an_unknown_loss_is_refused():
    with pytest.raises(ValueError, match=r"task_of_loss: loss_type must be one of 'mse'.*, got 'hinge'"):
        task_of_loss("hinge")
