"""The files of deploy/ are what docs/deployment.md says to install: nginx accepts both configurations
(`nginx -t`, Debian's nginx, with a certificate made for the test in place of certbot's)."""

import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = pytest.mark.skipif(
    NGINX is None or shutil.which("openssl") is None, reason="nginx and openssl (.ci/run installs nginx)"
)


@pytest.mark.parametrize("site", ["forum.conf", "forum-cluster.conf"])
def test_nginx_accepts_the_configuration(site, tmp_path):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=forum.example.org",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    places = {
        "/etc/letsencrypt/live/forum.example.org/fullchain.pem": str(tmp_path / "cert.pem"),
        "/etc/letsencrypt/live/forum.example.org/privkey.pem": str(tmp_path / "key.pem"),
        "/etc/nginx/sites-available/forum-locations.conf": str(DEPLOY / "nginx" / "forum-locations.conf"),
        "/var/log/nginx/forum.log": str(tmp_path / "access.log"),
    }
    text = (DEPLOY / "nginx" / site).read_text()
    for installed, here in places.items():
        text = text.replace(installed, here)
    (tmp_path / "site.conf").write_text(text)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[emerg]" not in result.stderr
