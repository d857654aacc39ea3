"""Test videos made with Debian's ffmpeg (scripts/install-system-deps.sh); no ffmpeg, no test:
the fixtures fail loudly rather than skip."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def require(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise RuntimeError(f"{program} is missing: run scripts/install-system-deps.sh as root "
                           "(Debian package ffmpeg)")
    return found


def make_video(path: Path, seconds: float = 2, size: str = "640x360",
               codec: str = "mpeg4") -> Path:
    """An MP4 (MPEG-4 part 2 video at high quality, AAC sound): about 1.4 MB a second at
    1280x720, so a 20-30 MB file takes ~2 s to make. codec="libx264" for one a browser
    plays (H.264, slower to make)."""
    quality = ["-q:v", "1"] if codec == "mpeg4" else ["-preset", "ultrafast", "-crf", "18",
                                                      "-pix_fmt", "yuv420p"]
    subprocess.run([require("ffmpeg"), "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440",
                    "-t", str(seconds), "-c:v", codec, *quality, "-c:a", "aac",
                    "-shortest", str(path)], check=True, timeout=120)
    return path
