"The report's teacher table (the paper's Table 1 question) with `single:best` runs beside `single:k` ones."
from rmkd_nb.report import _teacher_table


def _result(strategy, acc, seed=0):
    return {"strategy": strategy, "seed": seed, "final": {"accuracy": acc},
            "teachers": {"names": ["a", "b"], "accuracy": {"validation": [0.8, 0.7]}}}


def test_single_best_runs_do_not_break_the_teacher_table():
    runs = [_result("single:0", 0.75), _result("single:1", 0.70), _result("single:best", 0.74), _result("uniform", 0.7)]
    table = _teacher_table(runs, "sst2", "accuracy")
    rows = [l for l in table if l.startswith("| 0:") or l.startswith("| 1:")]
    assert rows == ["| 0: a | 80.0 | 75.0 ± 0.0 |", "| 1: b | 70.0 | 70.0 ± 0.0 |"]
