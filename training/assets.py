"""Static assets: fingerprinted copies, a manifest, precompressed files, and how the app serves them.

`make assets` runs ``python -m training.assets static`` after sass and the GOV.UK copy. For each
file in FINGERPRINTED it writes a copy named after a hash of its contents (``css/app.css`` ->
``css/app.3f9a1c2b.css``) and records the pair in ``static/assets-manifest.json``. Templates ask
for ``asset_url('css/app.css')``, which gives the hashed name when the manifest lists it and the
plain name otherwise (tests, a fresh checkout). Hashed files never change, so they are cached for
a year; everything else gets a short cache.

GOV.UK Frontend's images under ``govuk/assets/`` keep their names: the GOV.UK template reaches
them through one directory prefix (``assetPath``) and app.css through fixed URLs, so they cannot be
renamed one by one.

Every text file (css, js, svg) also gets a ``.gz`` (and a ``.br`` when brotli is installed) beside
it, for a web server's ``gzip_static``/``brotli_static``.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from pathlib import Path

import click
from flask import Flask, Response, has_request_context, request, send_from_directory, url_for

try:  # brotli is optional: without it only .gz files are written.
    import brotli
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None

MANIFEST_NAME = "assets-manifest.json"
# Dependencies first: a file's references to the ones before it are rewritten to their hashed
# names (app.js imports the GOV.UK script by URL), so its own hash covers the names it points to.
FINGERPRINTED = ("govuk/govuk-frontend.min.js", "css/app.css", "js/app.js", "favicon.svg")
TEXT_SUFFIXES = frozenset({".css", ".js", ".svg"})
COMPRESSED_SUFFIXES = (".gz", ".br")
HASH_LENGTH = 8
IMMUTABLE_MAX_AGE = 31_536_000  # a year: a hashed name's contents never change
STATIC_URL_PREFIX = "/static/"
_MANIFEST_KEY = "training.asset_manifest"  # where a request keeps the manifest it read


def hashed_name(logical: str, content: bytes) -> str:
    """`css/app.css` -> `css/app.<first 8 hex digits of the SHA-256>.css`."""
    path = Path(logical)
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def _write_if_changed(path: Path, content: bytes) -> None:
    # Unchanged files keep their modification time, so a second build changes nothing on disk.
    if path.exists() and path.read_bytes() == content:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)


def _remove_stale_copies(static_dir: Path, logical: str, keep: str) -> None:
    # Hashed copies from earlier builds of this file, and their compressed versions.
    path = Path(logical)
    pattern = re.compile(
        rf"^{re.escape(path.stem)}\.[0-9a-f]{{{HASH_LENGTH}}}{re.escape(path.suffix)}(\.gz|\.br)?$"
    )
    folder = static_dir / path.parent
    for candidate in folder.iterdir():
        if pattern.match(candidate.name) and not candidate.name.startswith(Path(keep).name):
            candidate.unlink()


def _compress(static_dir: Path) -> None:
    # Precompressed copies of every text file, written only where they are smaller.
    for path in sorted(static_dir.rglob("*")):
        if path.suffix in COMPRESSED_SUFFIXES and not path.with_suffix("").exists():
            path.unlink()  # its source is gone
            continue
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        data = path.read_bytes()
        variants = {".gz": gzip.compress(data, compresslevel=9, mtime=0)}
        if brotli is not None:
            variants[".br"] = brotli.compress(data, quality=11)
        for suffix, packed in variants.items():
            target = path.with_name(path.name + suffix)
            if len(packed) < len(data):
                _write_if_changed(target, packed)
            elif target.exists():
                target.unlink()


def build(static_dir: Path, logical_names: tuple[str, ...] = FINGERPRINTED) -> dict[str, str]:
    """Write hashed copies, the manifest and compressed files under `static_dir`; return the manifest."""
    manifest: dict[str, str] = {}
    for logical in logical_names:
        content = (static_dir / logical).read_bytes()
        if Path(logical).suffix in TEXT_SUFFIXES:
            for earlier, hashed in manifest.items():
                content = content.replace(
                    f"{STATIC_URL_PREFIX}{earlier}".encode(), f"{STATIC_URL_PREFIX}{hashed}".encode()
                )
        name = hashed_name(logical, content)
        _remove_stale_copies(static_dir, logical, keep=name)
        _write_if_changed(static_dir / name, content)
        manifest[logical] = name
    _write_if_changed(static_dir / MANIFEST_NAME,
                      (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    _compress(static_dir)
    return manifest


def load_manifest(app: Flask) -> dict[str, str]:
    """The manifest in the app's static folder, or {} if there is none; re-read when it changes.

    Checked once a request: a page asks for several assets, and each check is a stat() call.
    """
    if not has_request_context():
        return _read_manifest(app)
    if _MANIFEST_KEY not in request.environ:
        request.environ[_MANIFEST_KEY] = _read_manifest(app)
    return request.environ[_MANIFEST_KEY]


def _read_manifest(app: Flask) -> dict[str, str]:
    path = Path(app.static_folder or "") / MANIFEST_NAME
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    cached = app.extensions.get("asset_manifest")
    if cached and cached[0] == key:
        return cached[1]
    manifest = json.loads(path.read_text(encoding="utf-8"))
    app.extensions["asset_manifest"] = (key, manifest)
    return manifest


def register_assets(app: Flask) -> None:
    """`asset_url()` for templates, and the static route's cache headers."""

    def asset_url(logical: str) -> str:
        return url_for("static", filename=load_manifest(app).get(logical, logical))

    app.jinja_env.globals["asset_url"] = asset_url

    def static(filename: str) -> Response:
        fingerprinted = filename in load_manifest(app).values()
        max_age = IMMUTABLE_MAX_AGE if fingerprinted else app.config["STATIC_MAX_AGE_SECONDS"]
        response = send_from_directory(app.static_folder, filename, max_age=max_age)
        if fingerprinted:
            response.cache_control.immutable = True
        return response

    app.view_functions["static"] = static


@click.command()
@click.argument("static_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                default="static")
def main(static_dir: Path) -> None:
    """Fingerprint and compress the built assets in STATIC_DIR (make assets runs this)."""
    manifest = build(static_dir)
    for logical, name in manifest.items():
        click.echo(f"{logical} -> {name}")
    click.echo(f"Compressed text files with gzip{' and brotli' if brotli is not None else ''}")


if __name__ == "__main__":
    main(prog_name=os.path.basename(__file__))
