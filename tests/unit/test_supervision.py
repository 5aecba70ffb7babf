"""Restart intensity of the Root supervisor."""
from station.supervision import RestartBudget


def test_allows_up_to_max_restarts_in_the_period():
    budget = RestartBudget(max_restarts=3, period=60)
    assert [budget.allow("evse:1", t) for t in (0, 1, 2, 3)] == [True, True, True, False]


def test_old_restarts_leave_the_window():
    budget = RestartBudget(max_restarts=2, period=10)
    assert budget.allow("x", 0) and budget.allow("x", 5)
    assert not budget.allow("x", 9)
    assert budget.allow("x", 15.5)


def test_children_have_separate_budgets():
    budget = RestartBudget(max_restarts=1, period=60)
    assert budget.allow("a", 0) and budget.allow("b", 0)
    assert budget.total == {"a": 1, "b": 1}
