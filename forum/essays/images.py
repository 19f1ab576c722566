"""An uploaded figure made safe to show: decoded by Pillow and written again as a new file.

Nothing of the uploaded bytes reaches a reader. The picture is decoded and
encoded anew (JPEG for photographs, PNG for drawings and anything with
transparency), which leaves behind whatever rode along in the file: scripts
appended to a GIF, HTML in a PNG text chunk, EXIF with a camera's location. An
SVG is a document that can hold scripts, not a picture, and is refused: the
author is told to export it as PNG. A file whose header claims more pixels than
`MAX_PIXELS` is refused before it is decoded (a "decompression bomb").

Each figure is kept at a few widths (`WIDTHS`, none larger than the upload),
for `srcset`: a phone downloads the 480-pixel one, a wide screen the 1440.
"""

import contextlib
import hashlib
import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageCms, UnidentifiedImageError

logger = logging.getLogger(__name__)

# What an author may upload: what Pillow reads that cameras, scanners and drawing programs write.
ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "GIF": "GIF", "WEBP": "WebP", "TIFF": "TIFF"}
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000  # 50 megapixels: a full-frame camera's photograph, with room
# The widths kept; the largest shown is the upload's own width, at most the last of these.
WIDTHS = (480, 960, 1440, 2400)
JPEG_QUALITY = 85


class UnusableImage(ValueError):
    """An upload that cannot be shown, with a sentence saying why for the author."""


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    content: bytes
    extension: str  # "jpg" or "png"

    def name(self, digest: str) -> str:
        """Its file name: the upload's digest and its width, so that the same upload is stored once
        and a name never points to another picture (it may be cached for ever)."""
        return f"figures/{digest}-{self.width}.{self.extension}"


@dataclass(frozen=True)
class Prepared:
    digest: str  # of the uploaded bytes
    renditions: tuple[Rendition, ...]  # narrowest first

    @property
    def largest(self) -> Rendition:
        return self.renditions[-1]


def prepare(upload: bytes) -> Prepared:
    """The upload decoded and written again at each width it is kept at, or UnusableImage."""
    if len(upload) > MAX_UPLOAD_BYTES:
        raise UnusableImage(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    if _looks_like_svg(upload):
        raise UnusableImage(
            "SVG files are not accepted: an SVG can carry scripts. Export the drawing as PNG "
            "(twice the size it should be shown at) and upload that."
        )
    picture = _decode(upload)
    try:
        photographic = picture.format == "JPEG" or (
            picture.format in ("WEBP", "TIFF") and picture.mode in ("RGB", "CMYK", "YCbCr") and not _has_alpha(picture)
        )
        picture = _in_srgb(_upright(picture))
        picture.info = {}  # Pillow writes what `info` holds (a JPEG's comment, EXIF, text) into what it saves
        renditions = []
        widths = {width for width in WIDTHS if width < picture.width} | {min(picture.width, WIDTHS[-1])}
        for width in sorted(widths, reverse=True):  # each from the one before it: less work
            picture = _narrowed(picture, width)
            renditions.append(_encode(picture, photographic))
    except Exception as error:  # a crafted file can fail deep inside Pillow in many ways: never a 500
        logger.warning("An uploaded picture could not be written anew: %r", error)
        raise UnusableImage(_DAMAGED) from None
    return Prepared(hashlib.sha256(upload).hexdigest()[:20], tuple(reversed(renditions)))


_UNREADABLE = "This file is not a picture we can read. Upload a JPEG, PNG, GIF, WebP or TIFF file."
_DAMAGED = "The picture could not be read: the file may be damaged or cut short."
_TOO_LARGE = "The picture is {}: at most {} million pixels are accepted. Make it smaller and upload it again."


def _looks_like_svg(upload: bytes) -> bool:
    head = upload[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def _decode(upload: bytes) -> Image.Image:
    """The first frame of the upload, fully decoded (so that a truncated file fails here)."""
    try:
        picture = Image.open(io.BytesIO(upload), formats=list(ACCEPTED_FORMATS))
        if picture.width * picture.height > MAX_PIXELS:
            size = f"{picture.width} × {picture.height} pixels"
            raise UnusableImage(_TOO_LARGE.format(size, MAX_PIXELS // 1_000_000))
        picture.load()
    except UnusableImage:
        raise
    except UnidentifiedImageError:
        raise UnusableImage(_UNREADABLE) from None
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours, refused in its header
        raise UnusableImage(_TOO_LARGE.format("too large", MAX_PIXELS // 1_000_000)) from None
    except Exception as error:
        logger.info("An uploaded picture could not be decoded: %r", error)
        raise UnusableImage(_DAMAGED) from None
    return picture


def _upright(picture: Image.Image) -> Image.Image:
    """Turned as the camera's orientation tag says; as it is if the tag cannot be read."""
    try:
        orientation = picture.getexif().get(0x0112)
    except Exception:  # a damaged EXIF block: the picture is still a picture
        return picture
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return picture.transpose(method) if method is not None else picture


def _has_alpha(picture: Image.Image) -> bool:
    return picture.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in picture.info


def _in_srgb(picture: Image.Image) -> Image.Image:
    """Grey, RGB or RGBA, in sRGB: a photograph from a camera set to Adobe RGB, or a CMYK one made for
    print, keeps its colours once its profile is dropped (a profile that cannot be read is dropped
    as it is); 16-bit and floating-point grey is brought to 8 bits by its own range."""
    alpha = _has_alpha(picture)
    profile = picture.info.get("icc_profile")
    if profile and picture.mode in ("RGB", "RGBA", "CMYK"):
        with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError):
            mode = "RGBA" if picture.mode == "RGBA" else "RGB"
            picture = ImageCms.profileToProfile(
                picture, io.BytesIO(profile), ImageCms.createProfile("sRGB"), outputMode=mode
            )
    if picture.mode in ("I", "F") or picture.mode.startswith("I;"):
        picture = picture.convert("I") if picture.mode != "F" else picture
        high = picture.getextrema()[1]
        scale = 255 / high if high > 255 else 1
        picture = picture.point(lambda value: value * scale).convert("L")
    if alpha and picture.mode != "RGBA":
        return picture.convert("RGBA")
    if picture.mode == "1":
        return picture.convert("L")
    if picture.mode not in ("L", "RGB", "RGBA"):
        return picture.convert("RGB")
    return picture


def _narrowed(picture: Image.Image, width: int) -> Image.Image:
    if width == picture.width:
        return picture
    height = max(1, round(picture.height * width / picture.width))
    return picture.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(picture: Image.Image, photographic: bool) -> Rendition:
    out = io.BytesIO()
    if photographic and picture.mode != "RGBA":
        picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        extension = "jpg"
    else:
        picture.save(out, "PNG", optimize=True)
        extension = "png"
    return Rendition(picture.width, picture.height, out.getvalue(), extension)
