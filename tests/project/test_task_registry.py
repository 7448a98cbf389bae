"""The task registry: every task has its part in each package's registry, an unknown task
name names the closest one, and no code outside the registry modules tests a task by name
or by sample type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cotpd.augment.tasks import AUGMENT_TASKS
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.records import Mention, MnerSample, MreSample
from cotpd.corpus.tasks import TASKS, get_task, task_of
from cotpd.eval.tasks import EVAL_TASKS
from cotpd.student.tasks import STUDENT_TASKS, StudentTask

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("corpus", "caption", "teacher", "augment", "student", "eval", "pipeline")
REGISTRY_MODULES = {"corpus/tasks.py", "student/tasks.py", "eval/tasks.py", "augment/tasks.py"}
TASK_CHECK = re.compile(r"""task"?\]?\s*(==|!=)\s*["']|isinstance\([^)]*(MnerSample|MreSample)""")

MNER = MnerSample(id="1", tokens=["Kawhi", "wins"], labels=["B-PER", "O"], image_id=None)
MRE = MreSample(id="2", tokens=["Kawhi", "joins", "Raptors"], head=Mention("Kawhi", 0, 1),
                tail=Mention("Raptors", 2, 3), relation="/per/org/member_of", image_id=None)


def test_every_task_has_every_part() -> None:
    for registry in (STUDENT_TASKS, EVAL_TASKS, AUGMENT_TASKS):
        assert set(registry) == set(TASKS)
    for name in TASKS:
        assert get_task(name).name == name
        assert STUDENT_TASKS[name].name == EVAL_TASKS[name].name == AUGMENT_TASKS[name].name
        student = STUDENT_TASKS[name]
        for method in ("make_head", "words", "positions", "label_ids", "loss", "decode",
                       "read_prediction", "knowledge_logprobs", "dev_scores"):
            assert getattr(type(student), method) is not getattr(StudentTask, method), \
                f"{name}: student part {method} missing"


def test_task_of_sample() -> None:
    assert task_of(MNER).name == "mner" and task_of(MRE).name == "mre"
    assert get_task("mner").target(MNER) == ["B-PER", "O"]
    assert get_task("mre").target(MRE) == "/per/org/member_of"
    assert get_task("mre").with_target(MRE, "None").relation == "None"
    assert MRE.relation == "/per/org/member_of"  # with_target copies


def test_parts_agree_on_samples() -> None:
    assert STUDENT_TASKS["mner"].words(MNER) == (["Kawhi", "wins"], [True, True])
    words, flags = STUDENT_TASKS["mre"].words(MRE)
    assert words == ["<h>", "Kawhi", "</h>", "joins", "<t>", "Raptors", "</t>"]
    assert flags.count(True) == len(MRE.tokens)
    assert EVAL_TASKS["mner"].gold_names(MNER) == ["Kawhi"]
    assert EVAL_TASKS["mre"].gold_names(MRE) == ["Kawhi", "Raptors"]
    assert [kind for _, kind, _ in AUGMENT_TASKS["mre"].entities(MRE)] == ["per", "org"]
    assert get_task("mner").allows_unlabelled and not get_task("mre").allows_unlabelled


def test_unknown_task_names_the_closest() -> None:
    with pytest.raises(CotpdError, match=r"unknown task 'mnr'.*did you mean 'mner'.*mner, mre"):
        get_task("mnr")


def test_no_task_checks_outside_the_registries() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            name = path.relative_to(REPO).as_posix()
            if name in REGISTRY_MODULES:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if TASK_CHECK.search(line):
                    found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "ask the task registry instead:\n" + "\n".join(found)

