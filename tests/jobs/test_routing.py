"""Where a job runs: recipes that need a GPU go to the gpu queue, others to cpu; workers announce
what they can run, and without a GPU worker the user is told and may run on a CPU."""
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.utils import timezone

from jobs import tasks
from jobs.services.launch import job_create_from_upload
from jobs.services.workers import worker_announce
from jobs.models import Job, WorkerNode
from jobs.selectors import recipe_needs_gpu
from restoration_site.errors import ApplicationError
from tests.jobs.factories import gpu_worker, job_for, upload_of


@pytest.fixture(autouse=True)
def quiet(media_root):
    with mock.patch("jobs.events.send_job_event"):
        yield


@pytest.fixture
def enqueue():
    with mock.patch("jobs.tasks.run_job.apply_async") as apply_async:
        yield apply_async


@pytest.fixture
def gpu_recipe():
    """film-default stands for a recipe that needs a GPU (learned stages are judged by recipe_needs_gpu)."""
    with mock.patch("jobs.services.launch.recipe_needs_gpu", return_value=True), \
            mock.patch("jobs.selectors.recipe_needs_gpu", return_value=True):
        yield "film-default"


def stage(name, **params):
    return {"stage": name, "params": params}


@pytest.mark.parametrize("stages, needs_gpu", [
    ([stage("deflicker"), stage("denoise")], False),
    ([stage("faces", model="auto")], True),  # picks GPEN when it is installed
    ([stage("faces")], True),
    ([stage("faces", model="gpen-bfr-256")], True),
    ([stage("faces", model="none")], False),  # multi-frame fusion only
    ([stage("superres", model="realesrgan-x4plus")], True),
    ([stage("superres", model="realesr-animevideov3")], False),  # the compact model runs fine on a CPU
    ([stage("superres")], False),
    ([stage("colour-by-magic")], False),  # unknown stages do not ask for a GPU
])
def test_which_recipes_need_a_gpu(stages, needs_gpu):
    assert recipe_needs_gpu({"name": "x", "stages": stages}) is needs_gpu


def test_presets_without_learned_models_go_to_the_cpu_queue(owner, film_clip, enqueue,
                                                           django_capture_on_commit_callbacks):
    gpu_worker()
    with django_capture_on_commit_callbacks(execute=True):
        job = job_for(owner, film_clip, recipe="film-default")
    assert job.queue == "cpu"
    assert enqueue.call_args.kwargs["queue"] == "cpu"


def test_a_gpu_recipe_goes_to_the_gpu_queue_when_a_gpu_worker_is_online(owner, film_clip, enqueue, gpu_recipe,
                                                                       django_capture_on_commit_callbacks):
    gpu_worker()
    with django_capture_on_commit_callbacks(execute=True):
        job = job_for(owner, film_clip, recipe=gpu_recipe)
    assert job.queue == "gpu"
    assert enqueue.call_args.kwargs["queue"] == "gpu"
    assert list(job.events.values_list("data", flat=True)) == [{"queue": "gpu"}]


def test_without_a_gpu_worker_the_user_is_told_and_may_run_on_cpu(owner, film_clip, enqueue, gpu_recipe, settings):
    # A GPU worker that stopped sending heartbeats is not online; neither is a CPU-only worker.
    gpu_worker(hostname="gone@gpu")
    WorkerNode.objects.update(last_seen=timezone.now() - timedelta(seconds=settings.JOB_WORKER_STALE_SECONDS + 1))
    worker_announce(hostname="cpu@box", queues=["cpu"], has_gpu=False, installed_models=[])
    with pytest.raises(ApplicationError) as refused:
        job_for(owner, film_clip, recipe=gpu_recipe)
    assert refused.value.status_code == 409 and "no GPU worker is online" in refused.value.message
    assert not Job.objects.exists()
    job = job_create_from_upload(owner=owner, upload=upload_of(film_clip), recipe_name=gpu_recipe,
                                          allow_cpu=True)
    assert job.queue == "cpu"
    from jobs.selectors import job_snapshot

    assert job_snapshot(job)["slower_on_cpu"] is True


def test_the_api_says_no_gpu_is_online_and_accepts_allow_cpu(owner_client, film_clip, enqueue, gpu_recipe):
    assert owner_client.get("/api/jobs/quota/").json()["gpu_workers_online"] == 0
    refused = owner_client.post("/api/jobs/", {"file": upload_of(film_clip), "recipe": gpu_recipe})
    assert refused.status_code == 409
    assert refused.json() == {"message": refused.json()["message"], "extra": {"field": "allow_cpu"}}
    assert "no GPU worker is online" in refused.json()["message"]
    accepted = owner_client.post("/api/jobs/", {"file": upload_of(film_clip), "recipe": gpu_recipe,
                                                "allow_cpu": "true"})
    assert accepted.status_code == 201
    body = accepted.json()
    assert (body["queue"], body["slower_on_cpu"]) == ("cpu", True)


def test_the_form_says_no_gpu_is_online_and_offers_the_cpu(owner_client, film_clip, enqueue, gpu_recipe):
    page = owner_client.get("/jobs/new/").content.decode()
    assert "No GPU worker is online" in page and 'name="allow_cpu"' in page
    refused = owner_client.post("/jobs/new/", {"file": upload_of(film_clip), "recipe": gpu_recipe})
    assert refused.status_code == 400 and "no GPU worker is online" in refused.content.decode()
    accepted = owner_client.post("/jobs/new/", {"file": upload_of(film_clip), "recipe": gpu_recipe, "allow_cpu": "on"})
    assert accepted.status_code == 302 and Job.objects.get().queue == "cpu"
    gpu_worker()
    assert "1 GPU worker online" in owner_client.get("/jobs/new/").content.decode()


@pytest.fixture
def fresh_worker_process():
    with mock.patch.dict(tasks._announced, clear=True), mock.patch.object(tasks, "_last_heartbeat", [0.0]):
        yield


def test_a_worker_announces_itself_beats_and_leaves(db, settings, fresh_worker_process):
    consumer = SimpleNamespace(hostname="celery@gpu1",
                               app=SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(
                                   consume_from={"gpu": object(), "cpu": object()}))))
    capabilities = {"has_gpu": True, "installed_models": ["gpen-bfr-512", "realesrgan-x4plus"]}
    with mock.patch("jobs.tasks.machine_capabilities", return_value=capabilities):
        tasks.announce_worker(sender=consumer)
    node = WorkerNode.objects.get()
    assert (node.hostname, node.queues, node.has_gpu, node.installed_models) == (
        "celery@gpu1", ["cpu", "gpu"], True, ["gpen-bfr-512", "realesrgan-x4plus"])

    WorkerNode.objects.update(last_seen=timezone.now() - timedelta(minutes=5))
    tasks.worker_heartbeat(sender=None)  # Celery's heartbeat every 2 s: too soon to write again
    assert WorkerNode.objects.get().last_seen < timezone.now() - timedelta(minutes=4)
    settings.JOB_WORKER_HEARTBEAT_SECONDS = 0
    tasks.worker_heartbeat(sender=None)
    assert WorkerNode.objects.get().last_seen > timezone.now() - timedelta(seconds=5)

    WorkerNode.objects.all().delete()  # e.g. a database restored from a backup
    tasks.worker_heartbeat(sender=None)
    assert WorkerNode.objects.get().queues == ["cpu", "gpu"]

    tasks.forget_worker(sender=None)
    assert not WorkerNode.objects.exists()


def test_a_machine_reports_its_gpu_and_installed_models():
    capabilities = tasks.machine_capabilities()
    assert isinstance(capabilities["has_gpu"], bool)
    assert all(isinstance(key, str) for key in capabilities["installed_models"])
