"""Figures in essays: uploaded through the admin with required alt text, written anew (nothing of the
uploaded file reaches a reader), kept at a few widths in the site's storage, shown as <figure> with
width, height and srcset where the text places them."""

import io
import re
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image, PngImagePlugin

from forum.essays import images
from forum.essays.models import Essay, EssayRevision, Figure
from forum.lib import markup

from .conftest import admin_edit, admin_form

pytestmark = pytest.mark.django_db

DAMAGED = Path(__file__).parent / "data" / "pictures"


def picture(size=(1200, 800), kind="JPEG", mode="RGB", colour=(40, 90, 160), **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, kind, **save)
    return out.getvalue()


def decoded(content: bytes) -> Image.Image:
    shown = Image.open(io.BytesIO(content))
    shown.load()
    return shown


def upload(content: bytes, name: str = "figure.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def stored_pictures() -> list[str]:
    return default_storage.listdir("figures")[1] if default_storage.exists("figures") else []


@pytest.fixture
def editor(client, admin_user):
    client.force_login(admin_user)
    return client


def add_figure(editor, essay: Essay, content: bytes, name="figure.jpg", **fields) -> Figure:
    figure = {"label": "map", "upload": upload(content, name), "alt": "A map of the alliances.", **fields}
    admin_edit(editor, essay, figures=[figure], body=fields.pop("body", essay.body + "\n\n![](figure:map)"))
    return Figure.objects.get(essay=essay, label=figure["label"])


# --- The file written anew --------------------------------------------------------------------


def test_a_photograph_is_kept_as_jpeg_at_the_widths_screens_need():
    prepared = images.prepare(picture((3000, 2000)))
    assert [(r.width, r.height, r.extension) for r in prepared.renditions] == [
        (480, 320, "jpg"),
        (960, 640, "jpg"),
        (1440, 960, "jpg"),
        (2400, 1600, "jpg"),
    ]
    assert decoded(prepared.largest.content).format == "JPEG"


def test_a_small_picture_is_kept_at_its_own_size_only():
    prepared = images.prepare(picture((300, 200), "PNG"))
    assert [(r.width, r.height, r.extension) for r in prepared.renditions] == [(300, 200, "png")]


def test_a_drawing_with_transparency_stays_png_with_its_transparency():
    prepared = images.prepare(picture((600, 400), "PNG", "RGBA", (10, 20, 30, 100)))
    shown = decoded(prepared.largest.content)
    assert shown.format == "PNG" and shown.mode == "RGBA" and shown.getpixel((5, 5))[3] == 100


def test_script_appended_to_a_gif_does_not_survive():
    polyglot = picture((64, 64), "GIF", "P", 3) + b"<script>alert(document.cookie)</script>"
    prepared = images.prepare(polyglot)
    for rendition in prepared.renditions:
        assert b"<script" not in rendition.content and b"alert" not in rendition.content
        assert decoded(rendition.content).format == "PNG"


def test_html_in_a_png_text_chunk_does_not_survive():
    chunks = PngImagePlugin.PngInfo()
    chunks.add_text("Comment", '<html><script>alert("x")</script></html>')
    prepared = images.prepare(picture((200, 100), "PNG", pnginfo=chunks))
    assert b"script" not in prepared.largest.content
    assert "Comment" not in decoded(prepared.largest.content).info


def test_a_cameras_metadata_and_location_are_not_kept():
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x8825] = {1: "N", 2: (43.0, 39.0, 0.0)}  # GPSInfo: a latitude
    prepared = images.prepare(picture((800, 600), exif=exif.tobytes(), comment=b"taken at home"))
    content = prepared.largest.content
    assert b"Camera maker" not in content and b"taken at home" not in content
    assert not decoded(content).getexif()


def test_a_photograph_taken_sideways_is_shown_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    prepared = images.prepare(picture((800, 400), exif=exif.tobytes()))
    assert (prepared.largest.width, prepared.largest.height) == (400, 800)


def test_a_print_ready_cmyk_picture_is_shown_in_rgb():
    prepared = images.prepare(picture((500, 400), "JPEG", "CMYK", (0, 80, 80, 0)))
    assert decoded(prepared.largest.content).mode == "RGB"


def test_an_animated_gif_is_shown_by_its_first_frame():
    frames = [Image.new("P", (50, 50), colour) for colour in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    shown = decoded(images.prepare(out.getvalue()).largest.content)
    assert shown.format == "PNG" and not getattr(shown, "is_animated", False)


@pytest.mark.parametrize(
    "content",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'\xef\xbb\xbf  <?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x"><svg/>',
    ],
    ids=["svg", "svg-with-bom", "svg-doctype"],
)
def test_an_svg_is_refused_with_what_to_do_instead(content):
    with pytest.raises(images.UnusableImage, match=r"SVG files are not accepted.*Export the drawing as PNG"):
        images.prepare(content)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"<html><body><script>alert(1)</script></body></html>", "not a picture we can read"),
        (b"%PDF-1.7\n1 0 obj", "not a picture we can read"),
        (b"", "not a picture we can read"),
        (picture((400, 300))[:600], "damaged or cut short"),
    ],
    ids=["html", "pdf", "empty", "truncated"],
)
def test_a_file_that_is_no_picture_is_refused(content, says):
    with pytest.raises(images.UnusableImage, match=says):
        images.prepare(content)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    bomb = picture((10_000, 6_000), "PNG", "1", 0)  # 60 million pixels in a few kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(images.UnusableImage, match="10000 × 6000 pixels: at most 50 million"):
        images.prepare(bomb)


def test_a_damaged_camera_tag_leaves_the_picture_as_it_is():
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out, "PNG", exif=b"XX\x00*\x00\x00\x00\x08")
    assert images.prepare(out.getvalue()).largest.width == 64


@pytest.mark.parametrize("name", sorted(path.name for path in DAMAGED.iterdir()))
def test_pictures_whose_metadata_breaks_pillow_are_accepted_or_refused_never_a_500(name):
    """Found by fuzzing JPEG and WebP files: Pillow fails inside their EXIF in four ways."""
    try:
        prepared = images.prepare((DAMAGED / name).read_bytes())
    except images.UnusableImage as refused:
        assert str(refused)
    else:
        assert decoded(prepared.largest.content).format in ("JPEG", "PNG")


def test_sixteen_bit_grey_keeps_its_shades():
    ramp = Image.linear_gradient("L").resize((64, 256)).convert("I").point(lambda value: value * 256)
    out = io.BytesIO()
    ramp.convert("I;16").save(out, "PNG")
    shown = decoded(images.prepare(out.getvalue()).largest.content)
    assert shown.mode == "L" and len(set(shown.get_flattened_data())) > 200


def test_transparency_of_a_grey_or_rgb_png_is_kept():
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (0, 0, 0)).save(out, "PNG", transparency=(0, 0, 0))
    shown = decoded(images.prepare(out.getvalue()).largest.content)
    assert shown.mode == "RGBA" and shown.getpixel((1, 1))[3] == 0


def test_a_palette_tiff_stays_a_drawing():
    out = io.BytesIO()
    Image.new("P", (100, 80), 5).save(out, "TIFF")
    assert images.prepare(out.getvalue()).largest.extension == "png"


def test_a_picture_beyond_pillows_own_limit_is_refused_for_its_size():
    bomb = picture((15_000, 13_000), "PNG", "1", 0)  # 195 million pixels: Pillow refuses its header itself
    with pytest.raises(images.UnusableImage, match="The picture is too large: at most 50 million"):
        images.prepare(bomb)


def test_a_file_too_large_is_refused():
    with pytest.raises(images.UnusableImage, match="larger than 20 MB"):
        images.prepare(b"\xff\xd8" + b"0" * images.MAX_UPLOAD_BYTES)


# --- Through the admin, onto the page ---------------------------------------------------------


def test_a_figure_uploaded_with_the_essay_is_shown_where_the_text_places_it(editor, client, essay):
    body = "Before the figure.\n\n![](figure:map)\n\nAfter the figure."
    add_figure(
        editor, essay, picture((2000, 1000)), body=body, caption="Alliances in *1914*.", credit="J. Doe, CC BY 4.0"
    )
    client.logout()
    page = client.get(essay.get_absolute_url()).text
    page = page[page.index('class="essay-body"') :]
    shown = re.search(r'<figure id="fig-map" class="figure">.*?</figure>', page, re.DOTALL)
    assert shown, page
    assert page.index("Before the figure.") < shown.start() < page.index("After the figure.")
    figure = shown.group(0)
    assert 'width="2000" height="1000"' in figure and 'alt="A map of the alliances."' in figure
    assert re.search(r'srcset="(/media/figures/[0-9a-f]{20}-\d+\.jpg \d+w(, )?){4}"', figure)
    assert 'sizes="(min-width: 45rem) 42rem, 100vw"' in figure
    assert (
        '<figcaption><span class="figure-number">Figure 1.</span> Alliances in <em>1914</em>. '
        '<span class="figure-credit">J. Doe, CC BY 4.0</span></figcaption>'
    ) in figure


def test_each_width_kept_is_served_as_a_picture_cached_for_a_year(editor, client, essay):
    figure = add_figure(editor, essay, picture((1000, 500)))
    client.logout()
    for width, name in figure.renditions:
        response = client.get(default_storage.url(name))
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert decoded(b"".join(response.streaming_content)).width == width
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert client.get("/media/figures/../../db.sqlite3").status_code == 404
    assert client.get("/media/other/file.html").status_code == 404
    assert client.post(default_storage.url(figure.image.name)).status_code == 405


def test_figures_the_text_does_not_place_follow_it_numbered_in_order(editor, client, essay):
    admin_edit(
        editor,
        essay,
        body="Text.\n\n![](figure:second)\n\nMore text.",
        figures=[
            {"label": "first", "upload": upload(picture((300, 200))), "alt": "The first uploaded."},
            {"label": "second", "upload": upload(picture((300, 200), colour=(1, 2, 3))), "alt": "Placed."},
        ],
    )
    page = client.get(essay.get_absolute_url()).text
    assert page.index("More text.") < page.index('id="fig-first"')
    assert re.search(r'id="fig-second".*?Figure 1\..*?id="fig-first".*?Figure 2\.', page, re.DOTALL)


def test_alt_text_is_required(editor, essay):
    data = admin_form(essay, figures=[{"label": "map", "upload": upload(picture()), "alt": ""}], body="Changed text.")
    response = editor.post(reverse("admin:essays_essay_change", args=[essay.pk]), data)
    assert response.status_code == 200 and "This field is required." in response.text
    assert "Changed text." in response.text  # the author's text comes back
    assert not Figure.objects.exists() and Essay.objects.get(pk=essay.pk).body == essay.body


def test_an_svg_upload_is_refused_in_the_admin_with_the_reason(editor, essay):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    stored = stored_pictures()
    data = admin_form(essay, figures=[{"label": "map", "upload": upload(svg, "map.svg"), "alt": "A map."}])
    response = editor.post(reverse("admin:essays_essay_change", args=[essay.pk]), data)
    assert response.status_code == 200
    assert "SVG files are not accepted: an SVG can carry scripts." in response.text
    assert not Figure.objects.exists() and stored_pictures() == stored


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("Text.\n\n![](figure:chart)", "The text places the figure “chart”, which the essay does not have"),
        ("See ![the map](figure:map) here.", "The figure “map” must stand on a line of its own, not within a"),
        ("![](figure:map)\n\nText.\n\n![](figure:map)", "The figure “map” is placed twice: a figure is shown once."),
        ("![An important sentence](figure:My_Map)", "“figure:My_Map” names no figure: a label is made of lower-case"),
    ],
    ids=["unknown", "within-a-paragraph", "twice", "not-a-label"],
)
def test_a_text_that_places_a_figure_wrongly_is_refused_with_why(editor, essay, body, says):
    figure = {"label": "map", "upload": upload(picture()), "alt": "A map."}
    data = admin_form(essay, body=body, figures=[figure])
    response = editor.post(reverse("admin:essays_essay_change", args=[essay.pk]), data)
    assert response.status_code == 200
    assert says in response.text
    assert Essay.objects.get(pk=essay.pk).body == essay.body and not Figure.objects.exists()


def test_a_placement_in_code_is_code():
    source = "Write `![](figure:map)` on a line of its own.\n\n```\n![](figure:chart)\n```"
    assert markup.figure_problems(source, []) == []
    assert "<code>![](figure:map)</code>" in markup.render_essay(source)


def test_a_placement_that_cannot_be_shown_keeps_its_words():
    """Saved outside the admin, a wrong placement shows its words, not a broken picture or nothing."""
    html = markup.render_essay("![An important sentence](figure:Map)\n\nSee ![](figure:chart) here.")
    assert "<img" not in html and "[An important sentence]" in html and "See [chart] here." in html


def test_changing_a_caption_shows_it_at_once_without_a_new_revision(editor, client, essay):
    figure = add_figure(editor, essay, picture(), caption="First caption.")
    essay.refresh_from_db()
    anchors = re.findall(r'id="(p-[0-9a-f]{8})"', essay.body_html)
    assert "First caption." in client.get(essay.get_absolute_url()).text
    change = {"id": figure.pk, "essay": essay.pk, "label": "map", "alt": figure.alt, "caption": "Second caption."}
    essay = admin_edit(editor, essay, figures=[change])
    page = client.get(essay.get_absolute_url()).text
    assert "Second caption." in page and "First caption." not in page
    assert re.findall(r'id="(p-[0-9a-f]{8})"', essay.body_html) == anchors
    assert essay.text_version == 2  # the edit that placed it; a caption makes none
    figure.refresh_from_db()
    assert figure.renditions and figure.width == 1200  # the picture kept, no upload needed


def test_a_removed_figure_leaves_the_page_but_an_earlier_revision_still_shows_it(editor, client, essay):
    figure = add_figure(editor, essay, picture())
    essay.refresh_from_db()
    removal = {"id": figure.pk, "essay": essay.pk, "label": "map", "alt": figure.alt, "DELETE": "on"}
    essay = admin_edit(editor, essay, figures=[removal], body="A text without the figure.")
    assert 'id="fig-map"' not in client.get(essay.get_absolute_url()).text
    earlier = EssayRevision.objects.get(essay=essay, number=2)
    page = client.get(earlier.get_absolute_url()).text
    assert 'id="fig-map"' in page
    assert client.get(default_storage.url(figure.image.name)).status_code == 200


def test_hostile_alt_caption_and_credit_are_text(editor, client, essay):
    add_figure(
        editor,
        essay,
        picture(),
        alt='"><script>alert(1)</script>',
        caption="<img src=x onerror=alert(1)> [link](javascript:alert(1)) $\\text{<script>}$",
        credit="</figcaption><script>alert(2)</script>",
    )
    page = client.get(essay.get_absolute_url()).text
    figure = re.search(r'<figure id="fig-map".*?</figure>', page, re.DOTALL).group(0)
    assert "<script" not in figure and "onerror=" not in figure.replace("onerror=alert(1)&gt;", "")
    assert "javascript:" not in figure.replace("[link](javascript:alert(1))", "")
    assert 'alt="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in figure
    assert "&lt;/figcaption&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in figure


def test_the_sanitiser_keeps_only_figure_attributes_of_their_own_shape():
    hostile = (
        '<figure id="fig-x" class="figure" onclick="alert(1)"><img src="/a.jpg" srcset="javascript:alert(1) 1w"'
        ' sizes="calc(100vw)" width="100%" height="9" loading="eager" onerror="alert(1)"></figure>'
    )
    cleaned = markup._essay_cleaner.clean(hostile)
    assert cleaned == '<figure id="fig-x" class="figure"><img src="/a.jpg" height="9"></figure>'
    assert markup._comment_cleaner.clean(hostile) == ""


# --- Storage, feeds -----------------------------------------------------------------------------


def test_figures_are_kept_through_the_storage_api(editor, client, essay, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.InMemoryStorage",
            "OPTIONS": {"base_url": "https://objects.example.org/forum/"},
        },
    }
    figure = add_figure(editor, essay, picture((1000, 600)))
    assert default_storage.exists(figure.image.name)
    # The page names this site's address, which stays when the storage's changes (signed, a new bucket).
    page = client.get(essay.get_absolute_url()).text
    assert f'src="/media/{figure.image.name}"' in page and f"/media/{figure.renditions[0][1]} 480w" in page
    response = client.get(f"/media/{figure.renditions[0][1]}")
    assert response.status_code == 302
    assert response["Location"] == f"https://objects.example.org/forum/{figure.renditions[0][1]}"
    assert response["Cache-Control"] == "public, max-age=300"


def test_a_caption_is_one_line_without_footnotes_and_the_summary_leaves_figures_out(editor, essay):
    add_figure(editor, essay, picture(), caption="A note^[hidden] and [^1].", body="The text.\n\n![](figure:map)")
    essay.refresh_from_db()
    figure = re.search(r"<figcaption>.*?</figcaption>", essay.body_html, re.DOTALL).group(0)
    assert "footnote" not in figure and "A note^[hidden] and [^1]." in figure
    assert essay.description == "The text."


def test_the_essay_feed_carries_the_figure_at_one_absolute_address(editor, client, essay, settings):
    figure = add_figure(editor, essay, picture((1000, 600)))
    feed = client.get(reverse("essays:feed")).text
    assert f'img src="{settings.SITE_URL}/media/{figure.image.name}"' in feed
    assert "srcset" not in feed and "Figure 1." in feed


def test_the_demo_essay_has_its_figure(client):
    call_command("load_demo", stdout=io.StringIO())
    essay = Essay.objects.get(slug="example-counting-alignments")
    (figure,) = essay.figures.all()
    page = client.get(essay.get_absolute_url()).text
    assert 'id="fig-pairs"' in page and "A bar chart of the number of possible pairs" in page
    assert client.get(default_storage.url(figure.image.name)).status_code == 200
