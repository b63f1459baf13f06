"""Images (.png, .jpg, .jpeg): a photo or scan of a document, read by OCR.

The bytes must be a PNG or JPEG; the image's size is checked from its header before it is decoded
(`limits.max_image_pixels`: an image bomb is refused without being unpacked); a damaged image is a
DocumentError. A photo's EXIF orientation is applied; the lines RapidOCR finds are laid out into
paragraphs (`retrieval.readers._layout`), one page whose boxes are kept for the citation view.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

from retrieval.errors import DocumentError
from retrieval.readers import Extracted, ReadLimits, Reader
from retrieval.readers._layout import lay_out
from retrieval.readers._ocr import OcrUnavailable, file_key, ocr_cached, report, unavailable
from retrieval.readers._sniff import describe_content, image_format, suffix_of

NO_TEXT = "OCR found no text in the image (a photo without writing, or too blurred or small to read?)"


def open_image(path: Path, limits: ReadLimits):
    """The decoded PIL image (EXIF orientation applied), or a DocumentError naming what is wrong."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    fmt = image_format(head)
    if fmt is None:
        raise DocumentError(f"expected a PNG or JPEG image for a {suffix_of(path)} file, but the content is "
                            f"{describe_content(path)}", path=str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)  # reads the header only
            width, height = image.size
            if width * height > limits.max_image_pixels:
                raise DocumentError(
                    f"the image is {width}×{height} pixels ({width * height / 1e6:.0f} million); at most "
                    f"{limits.max_image_pixels / 1e6:g} million are read (PA_MAX_IMAGE_PIXELS) — an image bomb, or "
                    "scan it at a lower resolution", path=str(path))
            image.load()
            return ImageOps.exif_transpose(image).convert("L")
    except DocumentError:
        raise
    except Image.DecompressionBombError as exc:
        raise DocumentError(f"the image is too large to read — an image bomb? ({exc}); at most "
                            f"{limits.max_image_pixels / 1e6:g} million pixels are read (PA_MAX_IMAGE_PIXELS)",
                            path=str(path)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DocumentError(f"not a readable {fmt} image (damaged or cut off?): {type(exc).__name__}: {exc}",
                            path=str(path)) from exc


class ImageReader(Reader):
    """A PNG or JPEG of a document page, read by OCR into paragraphs (one page, boxes kept)."""

    name = "image"
    suffixes = (".png", ".jpg", ".jpeg")
    kinds = ("image",)

    def extract(self, path: Path, limits: ReadLimits | None = None) -> Extracted:
        limits = ReadLimits() if limits is None else limits
        path = Path(path)
        started = time.monotonic()
        image = open_image(path, limits)
        try:
            pieces, (width, height) = ocr_cached(f"{file_key(path)}-image", lambda: image, limits.ocr_cache_dir)
        except OcrUnavailable as exc:
            raise unavailable(exc, path) from exc
        except Exception as exc:  # noqa: BLE001 - onnxruntime failures and the like
            raise DocumentError(f"OCR failed ({type(exc).__name__}: {exc})", path=str(path)) from exc
        report(path, 1, 1)
        if time.monotonic() - started > limits.ocr_timeout_seconds:
            raise DocumentError(f"OCR of the image took longer than {limits.ocr_timeout_seconds:g} s "
                                "(PA_OCR_TIMEOUT_SECONDS)", path=str(path))
        spans = lay_out(pieces, width, height)
        text = "\n".join(s.text for s in spans)
        if not text.strip():
            raise DocumentError(NO_TEXT, path=str(path))
        return Extracted(text=text + "\n", pages=1, layout={1: spans}, ocr_pages=(1,))
