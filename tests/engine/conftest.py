"""The engine's tests use it as a library on its own: no site has configured its models folder, so
ENGINE_MODELS_DIR (or the default) decides, as for `python -m engine`."""
import pytest


@pytest.fixture(autouse=True)
def engine_alone(settings):
    from engine.models import registry

    registry.configure(models_dir=None)
    yield
    registry.configure(models_dir=settings.ENGINE_MODELS_DIR)  # as the site's start-up left it


@pytest.fixture
def one_torch_thread():
    """The test machine's few cores are shared: one thread avoids threads waiting on each other."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
