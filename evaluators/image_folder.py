"""A folder of images, one subfolder per class (``root/<class>/<image>.png``), read as arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluators.image_files import DatasetNotFound

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def read_image_folder(root: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, C, H, W)`` uint8 and their class names ``(N,)`` (the subfolder names).

    Classes and files are read in sorted order, so the same folder gives the same arrays on
    every machine. Grayscale images give one channel; any colour image makes them all RGB.
    An empty folder, and images of different sizes, raise a ``ValueError`` saying what to
    change (an empty folder a ``DatasetNotFound``).
    """
    from PIL import Image  # matplotlib's dependency: always there

    root = Path(root)
    files = [(d.name, f) for d in sorted(p for p in root.iterdir() if p.is_dir())
             for f in sorted(d.iterdir()) if f.suffix.lower() in SUFFIXES]
    if not files:
        raise DatasetNotFound(f"image folder '{root}' has no images: put them in one subfolder "
                              f"per class, e.g. {root}/cat/1.png ({', '.join(SUFFIXES)})")
    images = []
    for _, f in files:
        with Image.open(f) as im:
            images.append(np.asarray(im.convert("L" if im.mode in ("1", "L", "I;16") else
                                                "RGB")))
    sizes = sorted({im.shape[:2] for im in images})
    if len(sizes) > 1:
        raise ValueError(f"image folder '{root}' holds images of {len(sizes)} sizes "
                         f"({sizes[0]}, {sizes[-1]}, ...): resize them to one size first")
    if any(im.ndim == 3 for im in images):  # some colour: all RGB
        images = [np.repeat(im[..., None], 3, axis=2) if im.ndim == 2 else im for im in images]
    x = np.stack(images)  # (N, H, W) or (N, H, W, 3)
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)  # (N, C, H, W)
    return np.ascontiguousarray(x), np.array([c for c, _ in files])
