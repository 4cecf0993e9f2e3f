"""The README's Python snippets run as written, and its proxy configurations are the files the tests run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mug.configurations import Experiment, GameScene, StaticScene

README = Path(__file__).resolve().parent.parent / "README.md"


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_experiment_example_builds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("TURN_USERNAME", "TURN_CREDENTIAL", "TURN_SECRET", "TURN_URLS"):
        monkeypatch.delenv(name, raising=False)
    (code,) = [s for s in snippets() if "experiment = Experiment(" in s]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    experiment = namespace["experiment"]
    assert isinstance(experiment, Experiment) and [s.kind for s in experiment.scenes] == [
        "static",
        "game",
        "static",
        "end",
    ]


def test_the_multiplayer_example_builds() -> None:
    (code,) = [s for s in snippets() if "duo = GameScene(" in s]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    duo = namespace["duo"]
    assert isinstance(duo, GameScene) and duo.multiplayer and duo.lobby.on_timeout == "ai"


def test_the_study_design_example_builds() -> None:
    (code,) = [s for s in snippets() if "study = Experiment(" in s and "Condition(" in s]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    study = namespace["study"]
    assert isinstance(study, Experiment) and study.condition_ids == ["easy", "hard"]
    ids = [p.scene.id for p in study.plan("hard", 1)]
    assert ids[0] == "consent" and ids[-3:] == ["game--hard-1", "game--hard-2", "end"] and len(ids) == 5


def test_the_survey_example_builds() -> None:
    (code,) = [s for s in snippets() if "survey_study = Experiment(" in s]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    study = namespace["survey_study"]
    assert isinstance(study, Experiment)
    quiz = study.scene("quiz")
    assert isinstance(quiz, StaticScene) and quiz.max_attempts == 3
    assert [q.kind for q in quiz.questions] == ["likert", "multi", "slider", "choice"]
    assert [q.id for q in quiz.checks] == ["goal"]


def test_every_served_command_names_mugs_websocket_protocol() -> None:
    from mug.server.websocket import PROTOCOL

    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    commands = [line for block in blocks for line in block.splitlines() if "uvicorn mug.app:app" in line]
    makefile = (README.parent / "Makefile").read_text(encoding="utf-8")
    commands += [line for line in makefile.splitlines() if "uvicorn mug.app:app" in line]
    assert len(commands) >= 2
    for line in commands:
        assert f"--ws {PROTOCOL}" in line, line


def test_the_proxy_configurations_are_the_tested_files() -> None:
    text = README.read_text(encoding="utf-8")
    deploy = README.parent / "docs" / "deploy"
    for name in ("nginx-mug.conf", "Caddyfile"):
        assert (deploy / name).read_text(encoding="utf-8") in text, f"README shows docs/deploy/{name} as it is"
