"""The job state machine: every move of the table is allowed, every other refused, and a move a
concurrent writer got to first is reported, not made twice."""
from itertools import product

import pytest

from jobs.models import ALLOWED_TRANSITIONS, Job, JobState
from jobs.services.lifecycle import TransitionNotAllowed, job_transition

STATES = list(JobState)


def a_job(owner, state) -> Job:
    return Job.objects.create(owner=owner, kind=Job.Kind.IMAGE, recipe={"name": "t", "stages": []},
                              source="jobs/x/source.png", state=state)


@pytest.mark.parametrize("source, target", list(product(STATES, STATES)))
def test_every_pair_of_states(owner, source, target):
    job = a_job(owner, source)
    if target in ALLOWED_TRANSITIONS[source]:
        assert job_transition(job, target, worker="w1") is True
        assert job.state == target and Job.objects.get(pk=job.pk).worker == "w1"
    else:
        with pytest.raises(TransitionNotAllowed, match=f"from {source.value} to {target.value}"):
            job_transition(job, target)
        assert Job.objects.get(pk=job.pk).state == source


def test_finished_states_are_final_and_every_state_is_in_the_table():
    assert set(ALLOWED_TRANSITIONS) == set(STATES)
    for state in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED):
        assert ALLOWED_TRANSITIONS[state] == set()


def test_a_move_another_writer_made_first_is_not_made_again(owner):
    job = a_job(owner, JobState.QUEUED)
    stale_copy = Job.objects.get(pk=job.pk)
    assert job_transition(job, JobState.RUNNING, worker="first")
    assert job_transition(stale_copy, JobState.RUNNING, source=JobState.QUEUED, worker="second") is False
    assert stale_copy.state == JobState.RUNNING and stale_copy.worker == "first"  # read again: the truth


def test_no_other_code_writes_a_jobs_state():
    """Claim, reaper, cancel, retry and finish all go through job_transition: no other module
    updates `state` or saves it."""
    import re
    from pathlib import Path

    import jobs

    writes = re.compile(r"\.update\([^)]*\bstate=|\.state\s*=[^=]|update_fields=\[[^]]*\"state\"")
    offenders = [str(path) for path in Path(jobs.__file__).parent.rglob("*.py")
                 if path.name != "lifecycle.py" and "migrations" not in path.parts and writes.search(path.read_text())]
    assert offenders == []
