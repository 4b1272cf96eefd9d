import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from skimage import data

from engine.io import probe
from engine.synthetic import make_old_film

ROOT = Path(__file__).resolve().parents[2]


def engine_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "engine", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, **kwargs)


def test_restore_a_clip_with_an_override(film_clip, tmp_path):
    result = engine_cli("restore", film_clip, "-o", tmp_path / "out.mp4", "--set", "denoise.strength=8")
    assert result.returncode == 0, result.stderr
    assert "24 frame(s)" in result.stdout
    assert "100%" in result.stderr  # the tqdm bar
    assert probe(tmp_path / "out.mp4").frame_count == 24


def test_recipes_lists_the_presets():
    result = engine_cli("recipes")
    assert result.returncode == 0
    assert "film-default" in result.stdout and "deflicker -> descratch -> denoise" in result.stdout


def test_a_yaml_recipe_file(film_clip, tmp_path):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("name: mine\nstages:\n  - stage: deflicker\n    params: {radius: 3}\n")
    result = engine_cli("restore", film_clip, "-o", tmp_path / "out.mp4", "--recipe", recipe)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("args, message", [
    (["restore", "missing.mp4", "-o", "{tmp}/out.mp4"], "missing.mp4: no such file."),
    (["restore", "README.md", "-o", "{tmp}/out.mp4"], "not an image or video"),
    (["restore", "{clip}", "-o", "{tmp}/out.mp4", "--recipe", "film-1890"], "Unknown recipe 'film-1890'"),
    (["restore", "{clip}", "-o", "{tmp}/out.mp4", "--set", "denoise.radius=40"], "stages[2].params.radius"),
    (["restore", "{clip}", "-o", "{tmp}/out.mp4", "--set", "colorize.x=1"], "the recipe has no stage 'colorize'"),
    (["restore", "{clip}", "-o", "{tmp}/out.mkv"], "a video is restored to an .mp4 file"),
    (["restore", "{clip}", "-o", "{tmp}/no/such/dir/out.mp4"], "no such folder"),
])
def test_bad_input_gives_one_clear_line_and_no_traceback(film_clip, tmp_path, args, message):
    result = engine_cli(*[a.replace("{clip}", str(film_clip)).replace("{tmp}", str(tmp_path)) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_sigkill_loses_at_most_one_chunk_and_the_rerun_resumes(tmp_path):
    clip = tmp_path / "long.mp4"
    make_old_film(data.astronaut(), clip, seconds=120 / 12, fps=12.0, size=(320, 240), seed=4)
    folder = tmp_path / "ck"
    command = [sys.executable, "-m", "engine", "restore", str(clip), "-o", str(tmp_path / "out.mp4"),
               "--recipe", "film-default", "--checkpoint", str(folder), "--chunk-frames", "16"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(folder.glob("chunk-*.mkv"))) < 2:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    chunks_at_kill = len(list(folder.glob("chunk-*.mkv")))
    assert 2 <= chunks_at_kill < 120 / 16, "the run finished before it could be killed"
    assert not (tmp_path / "out.mp4").exists()

    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    info = probe(tmp_path / "out.mp4")
    assert (info.frame_count, info.audio_codecs) == (120, ["aac"])
    assert info.duration == pytest.approx(10.0, abs=1 / 12)


def test_bench_passes_its_own_options_through():
    result = engine_cli("bench", "--only", "colorize")
    assert result.returncode == 2 and "unknown benchmark colorize" in result.stderr
