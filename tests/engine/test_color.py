"""Colorization: luminance kept, colour carried along motion without flicker, scribbles that stop
at edges, transfer from reference images, the Zhang et al. network's checkpoint layout, and
parameters checked with messages naming the field."""
import dataclasses

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from engine.color import learned
from engine.color.propagate import AnchorSchedule, ChromaPropagator, Hints
from engine.color.scribble import solve_chroma
from engine.color.space import chroma, chroma_psnr, chroma_view, combine, luminance
from engine.color.transfer import transfer_samples
from engine.errors import RecipeError
from engine.metrics import warping_error
from engine.models import registry
from engine.models.archs.eccv16.network import RELEASED_WIDTHS, ColorfulColorization, widths_of
from engine.recipes import recipe_from_dict
from engine.stages import STAGES
from engine.stages.colorize import Colorize, preview_keyframe
from engine.synthetic import pan_frames

SIZE = (128, 96)
FRAMES = 10


def gray_clip(photo):
    truth = list(pan_frames(photo, count=FRAMES, size=SIZE, shift_per_frame=2.5))
    grays = [np.repeat(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2) for f in truth]
    return truth, grays


@pytest.fixture(scope="module")
def chelsea_clip():
    return gray_clip(data.chelsea())


def save(tmp_path, name, image):
    path = tmp_path / name
    Image.fromarray(image).save(path)
    return str(path)


def colorize(params, frames):
    stage = recipe_from_dict({"stages": [{"stage": "colorize", "params": params}]}).stages[0]
    return stage, list(stage.apply(iter(frames)))


def mean_chroma_psnr(truth, frames):
    return float(np.mean([chroma_psnr(a, b) for a, b in zip(truth[1:], frames[1:])]))


def chroma_warping_error(frames, truth):
    """Warping error of the colour alone (shown at constant luminance), with flow from the truth."""
    return warping_error([chroma_view(f) for f in frames], truth)


def per_frame_transfer(reference, grays):
    """The flickering baseline: each frame coloured on its own from the reference image."""
    out = []
    for frame in grays:
        target, weight = transfer_samples(frame, reference)
        out.append(combine(luminance(frame), solve_chroma(frame[..., 0], target, weight)))
    return out


def test_combine_keeps_luminance_for_any_chroma():
    rng = np.random.default_rng(0)
    y = rng.uniform(0, 255, (40, 50)).astype(np.float32)
    wild = rng.uniform(-300, 300, (40, 50, 2)).astype(np.float32)
    rgb = combine(y, wild, saturation=1.5)
    assert np.abs(luminance(rgb) - y).max() <= 1.0
    assert np.abs(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(int) - np.rint(y).astype(int)).max() <= 1


def test_stage_is_registered_and_keeps_the_input_luminance(tmp_path, chelsea_clip):
    truth, grays = chelsea_clip
    assert STAGES["colorize"] is Colorize
    stage, out = colorize({"reference_images": [save(tmp_path, "ref.png", truth[0])], "saturation": 1.4}, grays)
    assert len(out) == len(grays)
    for gray, frame in zip(grays, out):
        assert frame.shape == gray.shape and frame.dtype == np.uint8
        assert np.abs(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(int) - gray[..., 0].astype(int)).max() <= 1
    assert chroma_psnr(truth[3], out[3]) > chroma_psnr(truth[3], grays[3]) + 5
    record = stage.provenance()
    assert record["ai_color"] is True and record["models"] == []


@pytest.mark.parametrize("photo", ["astronaut", "coffee"])
def test_one_reference_frame_is_carried_along_the_motion(tmp_path, photo):
    truth, grays = gray_clip(getattr(data, photo)())
    _, ours = colorize({"reference_frames": [{"frame": 0, "image": save(tmp_path, "key.png", truth[0])}]}, grays)
    naive = [combine(luminance(g), chroma(truth[0])) for g in grays]  # the keyframe's colours, not moved
    ours_psnr = mean_chroma_psnr(truth, ours)
    assert ours_psnr > mean_chroma_psnr(truth, grays) + 10
    assert ours_psnr > mean_chroma_psnr(truth, naive) + 6


def test_propagation_flickers_far_less_than_per_frame_colorization(tmp_path, chelsea_clip):
    truth, grays = chelsea_clip
    _, ours = colorize({"reference_frames": [{"frame": 0, "image": save(tmp_path, "key.png", truth[0])}]}, grays)
    baseline = per_frame_transfer(truth[0], grays)
    assert mean_chroma_psnr(truth, ours) >= mean_chroma_psnr(truth, baseline)
    assert chroma_warping_error(ours, truth) <= 0.5 * chroma_warping_error(baseline, truth)


def test_reference_image_with_propagation_is_steadier_than_per_frame_transfer(tmp_path, chelsea_clip):
    truth, grays = chelsea_clip
    _, ours = colorize({"reference_images": [save(tmp_path, "photo.png", truth[0])], "saturation": 1.0}, grays)
    baseline = per_frame_transfer(truth[0], grays)
    assert mean_chroma_psnr(truth, ours) >= mean_chroma_psnr(truth, baseline) - 0.5
    assert chroma_warping_error(ours, truth) <= 0.6 * chroma_warping_error(baseline, truth)


def two_regions():
    """A dark textured left half and a bright right half, meeting at column 64."""
    rng = np.random.default_rng(1)
    y = np.where(np.arange(128)[None, :] < 64, 60.0, 180.0) + rng.normal(0, 3, (96, 128))
    return np.repeat(np.clip(y, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def scribble_image():
    scribble = np.zeros((96, 128, 4), np.uint8)
    scribble[40:44, 10:40] = (220, 30, 30, 255)  # red on the left region
    scribble[60:63, 90:120] = (30, 60, 230, 255)  # blue on the right region
    return scribble


def hue_agreement(rgb, region, color):
    """Cosine between the region's chroma and the scribble colour's chroma."""
    wanted = chroma(np.array([[color]], np.uint8))[0, 0]
    got = chroma(rgb)[region].reshape(-1, 2)
    return np.mean(got @ wanted / (np.linalg.norm(got, axis=1) * np.linalg.norm(wanted) + 1e-6))


def test_scribbles_color_their_region_and_stop_at_the_edge(tmp_path):
    frame = two_regions()
    path = save(tmp_path, "scribble.png", scribble_image())
    _, (out,) = colorize({"scribbles": [{"frame": 0, "image": path}]}, [frame])
    left, right = np.zeros((96, 128), bool), np.zeros((96, 128), bool)
    left[:, :62], right[:, 66:] = True, True
    assert hue_agreement(out, left, (220, 30, 30)) > 0.95
    assert hue_agreement(out, right, (30, 60, 230)) > 0.95
    # Right at the edge, each side keeps its own colour (the red does not bleed into the blue).
    assert hue_agreement(out, np.s_[:, 62:64], (220, 30, 30)) > 0.9
    assert hue_agreement(out, np.s_[:, 64:66], (30, 60, 230)) > 0.9
    assert np.linalg.norm(chroma(out)[:, 5:60], axis=2).mean() > 20  # coloured, not a faint tint
    # The preview gives the same frame from arrays, in a moment.
    preview = preview_keyframe(frame, scribble=scribble_image())
    assert np.abs(preview.astype(int) - out.astype(int)).max() <= 1


def test_scribbles_override_propagated_color_locally(tmp_path, chelsea_clip):
    truth, grays = chelsea_clip
    scribble = np.zeros((96, 128, 4), np.uint8)
    scribble[10:14, 10:20] = (20, 200, 40, 255)
    params = {"reference_frames": [{"frame": 0, "image": save(tmp_path, "key.png", truth[0])}],
              "scribbles": [{"frame": 5, "image": save(tmp_path, "s.png", scribble)}]}
    _, out = colorize(params, grays)
    assert hue_agreement(out[5], np.s_[10:14, 10:20], (20, 200, 40)) > 0.95
    assert chroma_psnr(truth[5][:, 64:], out[5][:, 64:]) > 30  # far from the scribble, colours stay


def test_frames_are_held_only_within_the_window():
    frame = two_regions()
    pulled = []

    def source():
        for i in range(40):
            pulled.append(i)
            yield frame

    propagator = ChromaPropagator(AnchorSchedule(frames=(0, 30)), lambda i, f: Hints(exact=np.zeros((96, 128, 2))),
                                  window=6)
    for emitted, _ in enumerate(propagator.run(source())):
        assert len(pulled) - emitted <= 6 + 1


def test_a_still_image_and_bad_parameters(tmp_path):
    key = save(tmp_path, "key.png", data.chelsea()[:96, :128])
    _, (still,) = colorize({"reference_frames": [{"frame": 0, "image": key}]}, [two_regions()])
    assert still.shape == (96, 128, 3)
    bad = [
        ({"reference_frames": [{"frame": 0, "image": str(tmp_path / "nowhere.png")}]}, "reference_frames[0].image"),
        ({"reference_images": [str(tmp_path / "nowhere.jpg")]}, "reference_images[0]"),
        ({"scribbles": [{"frame": "3", "image": key}]}, "scribbles[0].frame"),
        ({"scribbles": [{"frame": 1}]}, "scribbles[0]"),
        ({"reference_frames": "key.png"}, "reference_frames"),
        ({"reference_images": [key], "model": "deoldify"}, "params.model"),
        ({"reference_images": [key], "saturation": 5}, "params.saturation"),
        ({}, "params.reference_frames"),
    ]
    for params, field in bad:
        with pytest.raises(RecipeError, match=r"stages\[0\]\.params\.") as error:
            recipe_from_dict({"stages": [{"stage": "colorize", "params": params}]})
        assert field in str(error.value), (params, str(error.value))
    late = recipe_from_dict({"stages": [{"stage": "colorize", "params": {
        "scribbles": [{"frame": 0, "image": key}, {"frame": 7, "image": key}]}}]}).stages[0]
    with pytest.raises(RecipeError, match=r"scribbles\[1\]\.frame: frame 7 is past the clip's last frame \(2\)"):
        list(late.apply(iter([two_regions()] * 3)))
    with pytest.raises(RecipeError, match=r"scribbles\[1\]\.frame"):
        late.bind(24.0, [0.0, 1 / 24, 2 / 24])
    unreadable = tmp_path / "broken.png"
    unreadable.write_bytes(b"not a png")
    broken = Colorize(reference_images=[str(unreadable)])
    broken.validate()
    with pytest.raises(RecipeError, match=r"reference_images\[0\]: cannot read"):
        list(broken.apply(iter([two_regions()])))


TINY_WIDTHS = (4, 4, 8, 8, 8, 8, 8, 8)


@pytest.fixture
def tiny_checkpoint(tmp_path, monkeypatch):
    """A random ECCV16 network in the released key layout, small, in a temporary models folder; the
    release's hash prefix is lifted for it (it is not the release)."""
    torch.manual_seed(0)
    network = ColorfulColorization(TINY_WIDTHS)
    spec = registry.get_spec(learned.MODEL_KEY)
    torch.save(network.state_dict(), tmp_path / spec.files[0].name)
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))
    return spec


def test_network_layout_matches_the_release():
    state = ColorfulColorization().state_dict()
    assert len(state) == 82
    assert state["model1.0.weight"].shape == (64, 1, 3, 3)
    assert state["model1.4.running_var"].shape == (64,)  # batch norm closes block 1
    assert state["model5.0.weight"].shape == (512, 512, 3, 3)
    assert state["model8.0.weight"].shape == (512, 256, 4, 4)  # the transposed convolution up
    assert state["model8.6.weight"].shape == (313, 256, 1, 1)
    assert state["model_out.weight"].shape == (2, 313, 1, 1) and "model_out.bias" not in state
    assert widths_of(state) == RELEASED_WIDTHS
    spec = registry.get_spec("zhang-eccv16")
    assert spec.task == "colorization" and spec.package is None and spec.licence == "BSD-2-Clause"
    assert spec.architecture == "ECCV16" and "richzhang/colorization" in spec.licence_source
    assert spec.files[0].name == "colorization_release_v2-9b330a0b.pth"


def test_checkpoint_loads_strictly_and_its_color_is_stabilised(tiny_checkpoint, monkeypatch, tmp_path, chelsea_clip):
    with pytest.raises(registry.ModelCorrupt, match="9b330a0b"):
        learned.load()  # not the release: its hash does not start as the release's does
    unpinned = dataclasses.replace(tiny_checkpoint.files[0], sha256_prefix=None)
    monkeypatch.setitem(registry.REGISTRY, learned.MODEL_KEY, dataclasses.replace(tiny_checkpoint, files=(unpinned,)))
    model = learned.load()
    assert widths_of(model.model.state_dict()) == TINY_WIDTHS
    assert learned.load() is model  # once per process: a preview after a preview loads nothing
    truth, grays = chelsea_clip
    predicted = learned.predict_chroma(model, grays[0])
    assert predicted.shape == (96, 128, 2) and np.isfinite(predicted).all()
    # The annealed mean is a sharper (more colorful) reading of the same distribution.
    with torch.inference_mode():
        lightness = torch.rand(1, 1, 64, 64) * 100
        plain, annealed = model.model(lightness), model.model(lightness, temperature=0.38)
    assert annealed.abs().mean() >= plain.abs().mean()
    stage, out = colorize({"model": "zhang-eccv16", "anchor_every": 8}, grays)
    assert stage.provenance()["models"] == [{"key": "zhang-eccv16", "sha256": model.sha256, "licence": "BSD-2-Clause",
                                             "runtime": "torch cpu float32"}]
    for frame, gray in zip(out, grays):
        assert np.abs(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(int) - gray[..., 0]).max() <= 1
    # A broken state dict (a key missing) is refused, not half loaded.
    state = torch.load(tmp_path / tiny_checkpoint.files[0].name, weights_only=True)
    del state["model_out.weight"]
    torch.save(state, tmp_path / tiny_checkpoint.files[0].name)
    with pytest.raises(registry.ModelCorrupt, match=r"ECCV16 network \(missing: model_out\.weight\)"):
        learned.load()


def test_missing_weights_fall_back_to_the_references_and_say_so(tmp_path, monkeypatch, chelsea_clip):
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path / "empty"))
    truth, grays = chelsea_clip
    stage, out = colorize({"model": "zhang-eccv16", "reference_images": [save(tmp_path, "p.png", truth[0])]}, grays[:3])
    record = stage.provenance()
    assert record["models"] == []
    assert any("zhang-eccv16 not used" in note for note in record["notes"])
    with pytest.raises(registry.ModelMissing):
        colorize({"model": "zhang-eccv16"}, grays[:2])


def test_the_pipeline_runs_the_stage_on_a_video_with_checkpoints(tmp_path, chelsea_clip):
    from engine.io import read_video_frames
    from engine.pipeline import Pipeline
    from engine.synthetic import write_clip

    truth, grays = chelsea_clip
    source = tmp_path / "gray.mp4"
    write_clip(source, grays, fps=12.0)
    recipe = recipe_from_dict({"stages": [{"stage": "colorize", "params": {
        "reference_frames": [{"frame": 0, "image": save(tmp_path, "key.png", truth[0])}]}}]})
    result = Pipeline(recipe, chunk_frames=4).run(source, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "chunks")
    out = list(read_video_frames(tmp_path / "out.mp4"))
    assert result.frames == len(out) == FRAMES
    assert mean_chroma_psnr(truth, out) > mean_chroma_psnr(truth, grays) + 8  # yuv420p costs some chroma
    late = recipe_from_dict({"stages": [{"stage": "colorize", "params": {
        "scribbles": [{"frame": 99, "image": save(tmp_path, "s.png", scribble_image())}]}}]})
    with pytest.raises(RecipeError, match=r"scribbles\[0\]\.frame: frame 99 is past"):
        Pipeline(late).run(source, tmp_path / "late.mp4")


def test_list_parameters_can_come_from_the_command_line(tmp_path):
    from engine.cli import main

    key = save(tmp_path, "key.png", data.chelsea()[:96, :128])
    still = save(tmp_path, "still.png", two_regions())
    out = tmp_path / "out.png"
    code = main(["restore", still, "-o", str(out), "--recipe", "film-colorize", "--set", "colorize.model=none",
                 "--set", f'colorize.reference_frames=[{{"frame": 0, "image": "{key}"}}]',
                 "--set", f"colorize.reference_images={key},{key}"])
    assert code == 0 and out.is_file()
    with pytest.raises(RecipeError, match=r"reference_frames: must be a ListParam"):
        recipe_from_dict({"stages": [{"stage": "colorize", "params": {"reference_frames": {"frame": 0}}}]})


def test_color_is_not_carried_across_a_cut(tmp_path):
    first, first_grays = gray_clip(data.chelsea())
    second, second_grays = gray_clip(data.coffee())
    truth, grays = first[:6] + second[:6], first_grays[:6] + second_grays[:6]
    params = {"reference_frames": [{"frame": 0, "image": save(tmp_path, "a.png", truth[0])},
                                   {"frame": 8, "image": save(tmp_path, "b.png", truth[8])}]}
    stage, out = colorize(params, grays)
    assert any("new shots found at frames 6" in note for note in stage.provenance()["notes"])
    # The first shot keeps its own colours: the next shot's keyframe is not carried back into it
    # (which costs about 4 dB here).
    assert np.mean([chroma_psnr(truth[i], out[i]) for i in range(1, 6)]) > 39


def test_a_long_stream_with_periodic_anchors_holds_only_the_window():
    """Re-anchoring every few frames (reference images, the network) over a long stream: frames held
    stay within the window, whatever the stream's length."""
    frame = cv2.resize(two_regions(), (32, 24), interpolation=cv2.INTER_AREA)
    pulled = []

    def source():
        for i in range(300):
            pulled.append(i)
            yield frame

    propagator = ChromaPropagator(AnchorSchedule(frames=(0,), period=10),
                                  lambda i, f: Hints(samples=[(np.full((24, 32, 2), 5.0, np.float32),
                                                               np.ones((24, 32), np.float32))]), window=4)
    most_held = 0
    for emitted, _ in enumerate(propagator.run(source()), start=1):
        most_held = max(most_held, len(pulled) - emitted)
    assert emitted == 300 and most_held <= 4 + 1


def test_a_cut_off_colorize_run_resumes_from_its_last_chunk_with_the_uninterrupted_frames(tmp_path):
    """Colour carried from the last anchor and frames held for the next one are kept with each
    chunk: a resumed run goes on from there, not from the first frame, and gives the same frames."""
    from unittest import mock

    from engine.checkpoint import ChunkStore, load_state
    from engine.errors import Cancelled
    from engine.pipeline import Pipeline
    from engine.recipes import Recipe
    from engine.stages import Deflicker, TemporalDenoise
    from engine.synthetic import write_clip
    from tests.engine.helpers import checkpoint_frames

    truth = list(pan_frames(data.chelsea(), count=24, size=SIZE, shift_per_frame=2.0))
    grays = [np.repeat(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2) for f in truth]
    source = tmp_path / "gray.mp4"
    write_clip(source, grays, fps=12.0)
    params = {"reference_frames": [{"frame": 0, "image": save(tmp_path, "k0.png", truth[0])},
                                   {"frame": 17, "image": save(tmp_path, "k17.png", truth[17])}],
              "reference_images": [save(tmp_path, "ref.png", data.chelsea())], "window": 6, "anchor_every": 11}

    def pipeline():
        colour = recipe_from_dict({"stages": [{"stage": "colorize", "params": params}]}).stages[0]
        recipe = Recipe("colour-test", stages=[TemporalDenoise(radius=1), colour, Deflicker(radius=2)])
        return Pipeline(recipe, chunk_frames=8, progress_interval=0), colour

    full, full_colour = pipeline()
    with mock.patch.object(ChunkStore, "remove"):
        full.run(source, tmp_path / "full.mp4", checkpoint_dir=tmp_path / "full")
    cut, _ = pipeline()
    with pytest.raises(Cancelled):
        cut.run(source, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "ck",
                should_cancel=mock.Mock(side_effect=[False] * 18 + [True]))
    state = load_state((tmp_path / "ck" / "state-00001.bin").read_bytes(), full_colour.state_types)
    # Saved after 14 frames: frames 11 on waited for the anchor at 17 (window 6), which has come:
    # frames 14 to 17 are in hand, ready to be let go.
    kept = state["state"]["propagator"]
    assert state["yielded"] == 14 and [item.index for item in kept["ready"][:-1]] == [14, 15, 16]

    resumed, resumed_colour = pipeline()
    events = []
    with mock.patch.object(ChunkStore, "remove"):
        resumed.run(source, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "ck", on_event=events.append)
    assert min(e.frame for e in events if e.phase == "restore") == 15
    reference, again = checkpoint_frames(tmp_path / "full"), checkpoint_frames(tmp_path / "ck")
    assert len(again) == 24 and all(np.array_equal(a, b) for a, b in zip(reference, again))
    assert resumed_colour.provenance() == full_colour.provenance()
