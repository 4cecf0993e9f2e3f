"""HTTP routes: the page, the client's files and the bundle, with their content types and cache headers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx

from mug.bundle import BundleManifest
from mug.configurations import EndScene, Experiment, StaticScene

EXPERIMENT = Experiment(id="pages", title="A </script> title", scenes=[StaticScene(id="s"), EndScene(id="end")])


def fake_bundle(folder: Path) -> BundleManifest:
    folder.mkdir()
    (folder / "pyodide.asm.wasm").write_bytes(b"\0asm\1\0\0\0")
    (folder / "pyodide.mjs").write_text("export const x = 1;\n")
    (folder / "pyodide-lock.json").write_text("{}")
    (folder / "python_stdlib.zip").write_bytes(b"PK\5\6" + b"\0" * 18)
    manifest = BundleManifest(
        bundle_id="abc123def456", lock_file="pyodide-lock.json", packages=["numpy"], python="3.12.7", pyodide="0.27.7"
    )
    (folder / "mug-bundle.json").write_text(manifest.to_json())
    return manifest


async def test_bundle_and_static_files_are_served_with_types_and_long_caching(serve: Any, tmp_path: Path) -> None:
    manifest = fake_bundle(tmp_path / "bundle")
    live = serve(EXPERIMENT, bundle_dir=tmp_path / "bundle")
    async with httpx.AsyncClient(base_url=live.url) as http:
        page = await http.get("/")
        assert page.headers["cache-control"] == "no-store"
        config = json.loads(page.text.split('id="mug-config" type="application/json">')[1].split("</script>")[0])
        assert config["bundle"] == {
            "indexURL": "/bundle/abc123def456/",
            "lockFileURL": "/bundle/abc123def456/pyodide-lock.json",
            "packages": ["numpy"],
            "onnxruntime": None,  # a bundle without onnxruntime-web
        }
        assert "A &lt;/script&gt; title" in page.text and "A <\\/script> title" in page.text
        expected = {
            "pyodide.asm.wasm": "application/wasm",
            "pyodide.mjs": "text/javascript",
            "pyodide-lock.json": "application/json",
            "python_stdlib.zip": "application/zip",
        }
        for name, content_type in expected.items():
            resp = await http.get(f"/bundle/{manifest.bundle_id}/{name}")
            assert resp.status_code == 200, name
            assert resp.headers["content-type"].split(";")[0] == content_type, name
            assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert (await http.get("/bundle/000000000000/pyodide.mjs")).status_code == 404
        assert (await http.get(f"/bundle/{manifest.bundle_id}/missing.whl")).status_code == 404
        main = await http.get(config["static"] + "main.js")
        assert main.status_code == 200 and main.headers["content-type"].startswith("text/javascript")
        assert main.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert (await http.get("/static/not-the-version/main.js")).status_code == 404


async def test_gzip_copies_are_sent_to_browsers_that_accept_them(serve: Any, tmp_path: Path) -> None:
    manifest = fake_bundle(tmp_path / "bundle")
    wasm = (tmp_path / "bundle" / "pyodide.asm.wasm").read_bytes()
    (tmp_path / "bundle" / "pyodide.asm.wasm.gz").write_bytes(gzip.compress(wasm, mtime=0))
    live = serve(EXPERIMENT, bundle_dir=tmp_path / "bundle")
    url = f"/bundle/{manifest.bundle_id}/pyodide.asm.wasm"
    async with httpx.AsyncClient(base_url=live.url) as http:
        packed = await http.get(url, headers={"Accept-Encoding": "gzip, br"})
        assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
        assert packed.headers["content-type"] == "application/wasm"
        assert packed.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert packed.content == wasm  # httpx decodes it, as a browser does
        plain = await http.get(url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == wasm


async def test_without_a_bundle_the_page_says_so_and_the_server_keeps_serving(serve: Any, tmp_path: Path) -> None:
    live = serve(EXPERIMENT, bundle_dir=tmp_path / "missing")
    async with httpx.AsyncClient(base_url=live.url) as http:
        page = await http.get("/")
        assert page.status_code == 200 and '"bundle": null' in page.text
        assert (await http.get("/healthz")).json()["bundle"] is None
