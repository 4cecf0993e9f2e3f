"""Researcher files under content-versioned URLs: served bytes, immutable caching, 404 for anything not indexed
(traversal, unknown names, changed files), links out of the folder and missing folders refused at start-up."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from mug.app import create_app
from mug.bundle import BundleManifest
from mug.configurations import EndScene, Experiment, ExperimentError, GameScene, StaticScene, load_experiment
from mug.server.assets import Assets
from mug.server.scenes import scene_spec
from mug.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24  # the bytes only matter as bytes here
IMMUTABLE = "public, max-age=31536000, immutable"


def folder(tmp_path: Path) -> Path:
    assets = tmp_path / "assets"
    (assets / "sprites").mkdir(parents=True)
    (assets / "sprites" / "cat.png").write_bytes(PNG)
    (assets / "my dog.png").write_bytes(PNG + b"dog")
    (assets / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "secret.txt").write_text("not for the web")
    return assets


def experiment(assets: Path, scene_assets: Path | None = None) -> Experiment:
    return Experiment(
        id="assets",
        assets=str(assets),
        scenes=[
            StaticScene(id="intro", body="![a cat](assets/sprites/cat.png) and [a dog](assets/my%20dog.png)"),
            GameScene(
                id="game",
                env="mug.demos.catch:make_env",
                key_bindings={"ArrowLeft": 0},
                instructions='<img src="assets/sprites/cat.png"> ![gone](assets/nope.png)',
                assets=str(scene_assets) if scene_assets else None,
            ),
            EndScene(id="end"),
        ],
    )


async def test_files_are_served_under_versioned_urls_with_immutable_caching(serve: Any, tmp_path: Path) -> None:
    exp = experiment(folder(tmp_path))
    urls = Assets.of(exp).urls("game")
    assert sorted(urls) == ["my dog.png", "sprites/cat.png"], "hidden files are left out"
    live = serve(exp)
    async with httpx.AsyncClient(base_url=live.url, follow_redirects=True) as http:
        cat = await http.get(urls["sprites/cat.png"])
        assert cat.status_code == 200 and cat.content == PNG
        assert cat.headers["cache-control"] == IMMUTABLE and cat.headers["content-type"] == "image/png"
        dog = await http.get(urls["my dog.png"])
        assert dog.status_code == 200 and dog.content == PNG + b"dog"
        digest = urls["sprites/cat.png"].split("/")[2]
        assert len(digest) == 16 and urls["my dog.png"].split("/")[2] != digest  # by content
        for path in (
            f"/assets/{digest}/sprites/dog.png",  # an unknown name
            f"/assets/{'0' * 16}/sprites/cat.png",  # another digest
            f"/assets/{digest}/.DS_Store",
            f"/assets/{digest}/..%2F..%2Fsecret.txt",  # traversal, percent-encoded so no client folds it
            f"/assets/{digest}/%2E%2E/secret.txt",
            f"/assets/{digest}/{tmp_path}/secret.txt",  # an absolute path
            f"/assets/{digest}/sprites/../../secret.txt",
        ):
            resp = await http.get(httpx.URL(live.url + path) if "%" in path else path)
            assert resp.status_code == 404, path
            assert b"not for the web" not in resp.content


async def test_a_file_changed_after_start_up_is_not_served_under_its_old_url(serve: Any, tmp_path: Path) -> None:
    assets = folder(tmp_path)
    exp = experiment(assets)
    url = Assets.of(exp).urls(None)["sprites/cat.png"]
    live = serve(exp)
    async with httpx.AsyncClient(base_url=live.url) as http:
        assert (await http.get(url)).status_code == 200
        (assets / "sprites" / "cat.png").write_bytes(b"another cat")
        assert (await http.get(url)).status_code == 404, "an immutable URL never names other bytes"


def test_links_inside_the_folder_are_served_and_links_out_of_it_refused(tmp_path: Path) -> None:
    assets = folder(tmp_path)
    (assets / "same-cat.png").symlink_to(assets / "sprites" / "cat.png")
    assert (
        Assets.of(experiment(assets)).files(None)["same-cat.png"].sha256
        == Assets.of(experiment(assets)).files(None)["sprites/cat.png"].sha256
    )
    (assets / "sprites" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ExperimentError, match=r"^assets: .*leak.txt is a link to .*secret.txt, outside the assets"):
        Assets.of(experiment(assets))
    os.unlink(assets / "sprites" / "leak.txt")
    (assets / "up").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(ExperimentError, match=r"up is a link to .*, outside the assets folder"):
        Assets.of(experiment(assets))


def test_a_missing_folder_stops_the_start_up_naming_the_field(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'd.sqlite3'}", bundle_dir=tmp_path / "no-bundle")
    with pytest.raises(ExperimentError, match=r"^scene 'game': assets: the assets folder .*nowhere.* does not exist"):
        create_app(experiment(folder(tmp_path), tmp_path / "nowhere"), settings)
    with pytest.raises(ExperimentError, match=r"^assets: the assets folder .*gone.* does not exist"):
        create_app(experiment(tmp_path / "gone"), settings)


def test_scenes_get_their_urls_and_markdown_references_are_rewritten(tmp_path: Path) -> None:
    own = tmp_path / "own"
    (own / "sprites").mkdir(parents=True)
    (own / "sprites" / "cat.png").write_bytes(b"the game's own cat")
    exp = experiment(folder(tmp_path), own)
    assets = Assets.of(exp)
    intro = scene_spec(exp.default_scenes[0], seed=None, completion_code="", params={}, assets=assets)
    cat, dog = assets.urls("intro")["sprites/cat.png"], assets.urls("intro")["my dog.png"]
    assert f'<img src="{cat}" alt="a cat"' in intro["body_html"] and f'href="{dog}"' in intro["body_html"]
    game = scene_spec(exp.default_scenes[1], seed=1, completion_code="", params={}, assets=assets)
    assert game["assets"] == {"my dog.png": dog, "sprites/cat.png": assets.urls("game")["sprites/cat.png"]}
    assert game["assets"]["sprites/cat.png"] != cat, "the scene's own folder wins on the same name"
    assert f'<img src="{game["assets"]["sprites/cat.png"]}">' in game["instructions_html"]
    assert 'src="assets/nope.png"' in game["instructions_html"], "an unknown name is left as written"
    listing = assets.listing()
    assert set(listing) == {"experiment", "scene:game"}
    assert listing["scene:game"]["sprites/cat.png"] == assets.files("game")["sprites/cat.png"].sha256


def test_relative_folders_are_taken_from_the_experiment_files_folder(tmp_path: Path) -> None:
    folder(tmp_path)
    (tmp_path / "study.py").write_text(
        "from mug.configurations import EndScene, Experiment, StaticScene\n"
        "experiment = Experiment(id='s', assets='assets', scenes=[StaticScene(id='a', assets='assets/sprites'),"
        " EndScene(id='end')])\n"
    )
    exp = load_experiment(str(tmp_path / "study.py"))
    assert exp.assets == str(tmp_path / "assets")
    assert exp.default_scenes[0].assets == str(tmp_path / "assets" / "sprites")
    assert sorted(Assets.of(exp).urls("a")) == ["cat.png", "my dog.png", "sprites/cat.png"]


def test_the_bundle_manifest_lists_the_assets_with_their_hashes(tmp_path: Path) -> None:
    listing = Assets.of(experiment(folder(tmp_path))).listing()
    manifest = BundleManifest(
        bundle_id="abc", lock_file="pyodide-lock.json", packages=[], python="3.12", pyodide="0.27.7", assets=listing
    )
    again = BundleManifest.from_json(manifest.to_json())
    assert again.assets == listing and len(json.loads(manifest.to_json())["assets"]["experiment"]) == 2
