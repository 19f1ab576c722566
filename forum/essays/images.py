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
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

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
    digest = hashlib.sha256(upload).hexdigest()[:20]
    photographic = picture.format == "JPEG" or (picture.format in ("WEBP", "TIFF") and not _has_alpha(picture))
    picture = _without_metadata(_in_srgb(ImageOps.exif_transpose(picture)))
    full_width = min(picture.width, WIDTHS[-1])
    widths = sorted({width for width in WIDTHS if width < full_width} | {full_width})
    return Prepared(digest, tuple(_encode(picture, width, photographic) for width in widths))


def _looks_like_svg(upload: bytes) -> bool:
    head = upload[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def _decode(upload: bytes) -> Image.Image:
    """The first frame of the upload, fully decoded (so that a truncated file fails here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            picture = Image.open(io.BytesIO(upload), formats=list(ACCEPTED_FORMATS))
            if picture.width * picture.height > MAX_PIXELS:
                raise UnusableImage(
                    f"The picture is {picture.width} × {picture.height} pixels: at most "
                    f"{MAX_PIXELS // 1_000_000} million pixels are accepted. Make it smaller and upload it again."
                )
            picture.load()
        except UnidentifiedImageError:
            raise UnusableImage(
                "This file is not a picture we can read. Upload a JPEG, PNG, GIF, WebP or TIFF file."
            ) from None
        except (
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ) as error:
            if isinstance(error, UnusableImage):
                raise
            raise UnusableImage("The picture could not be read: the file may be damaged or cut short.") from None
    return picture


def _has_alpha(picture: Image.Image) -> bool:
    return picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info)


def _in_srgb(picture: Image.Image) -> Image.Image:
    """RGB(A) or grey, in sRGB: a photograph from a camera set to Adobe RGB keeps its colours once
    its profile is dropped; a profile that cannot be read is dropped as it is."""
    alpha = _has_alpha(picture)
    if picture.mode not in ("L", "RGB", "RGBA") or (alpha and picture.mode != "RGBA"):
        picture = picture.convert("RGBA" if alpha else "RGB")
    profile = picture.info.get("icc_profile")
    if profile and picture.mode in ("RGB", "RGBA"):
        with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError):
            picture = ImageCms.profileToProfile(
                picture, io.BytesIO(profile), ImageCms.createProfile("sRGB"), outputMode=picture.mode
            )
    return picture


def _without_metadata(picture: Image.Image) -> Image.Image:
    """The pixels alone: Pillow writes what `info` holds (a JPEG's comment, EXIF, text) into the file
    it saves, and a resized copy inherits it."""
    bare = picture.copy()
    bare.info = {}
    return bare


def _encode(picture: Image.Image, width: int, photographic: bool) -> Rendition:
    if width != picture.width:
        height = max(1, round(picture.height * width / picture.width))
        picture = picture.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if photographic and picture.mode != "RGBA":
        picture = picture if picture.mode in ("L", "RGB") else picture.convert("RGB")
        picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        extension = "jpg"
    else:
        picture.save(out, "PNG", optimize=True)
        extension = "png"
    return Rendition(picture.width, picture.height, out.getvalue(), extension)
