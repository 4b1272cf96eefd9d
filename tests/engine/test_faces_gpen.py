"""The faces stage with a real GPEN-256 network file: random weights in the official layout, saved to
ENGINE_MODELS_DIR and loaded by the real loader, run on the astronaut photo (one real face)."""
import numpy as np
import pytest
import torch
from skimage import data

from engine.faces.detect import detect_faces
from engine.models import registry
from engine.models.archs.gpen.network import FullGenerator
from engine.stages import STAGES


@pytest.fixture
def gpen_256_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    torch.manual_seed(0)
    model = FullGenerator(size=256, channel_multiplier=1, narrow=0.5)  # GPEN-BFR-256's official settings
    path = tmp_path / "GPEN-BFR-256.pth"
    torch.save(model.state_dict(), path)
    return path


def test_a_still_is_restored_by_gpen_loaded_from_the_models_folder(gpen_256_file):
    photo = data.astronaut()
    (face,) = detect_faces(photo)
    stage = STAGES["faces"](model="gpen-bfr-256", key_every=1, fusion_radius=0)
    stage.validate()
    (restored,) = list(stage.apply(iter([photo])))

    assert restored.shape == photo.shape and restored.dtype == np.uint8
    x0, y0, x1, y1 = (int(v) for v in face.box)
    changed = np.abs(restored.astype(int) - photo.astype(int)).max(axis=2) > 2
    assert changed[y0:y1, x0:x1].mean() > 0.3  # random weights: the face is repainted
    outside = changed.copy()
    pad = int(0.6 * max(x1 - x0, y1 - y0))  # the pasted crop reaches a little past the detection box
    outside[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = False
    assert not outside.any()  # the rest of the picture is untouched

    record = stage.provenance()
    used = {m["key"]: m for m in record["models"]}
    assert used["gpen-bfr-256"]["sha256"] == registry.cached_sha256(gpen_256_file)
    assert "non-commercial" in used["gpen-bfr-256"]["licence"]
    assert not any("GPEN was not used" in note for note in record["notes"])
