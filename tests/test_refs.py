import sys
from pathlib import Path

import pytest

from mug.refs import RefError, check_ref, resolve_ref


def test_resolves_dotted_callables() -> None:
    import json

    assert resolve_ref("json:dumps", "env") is json.dumps
    assert resolve_ref("json:JSONEncoder.encode", "env") is json.JSONEncoder.encode


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nope", "env: 'nope' is not a 'package.module:callable' reference (e.g. 'my_envs.catch:make_env')"),
        ("a:b:c", "env: 'a:b:c' is not a 'package.module:callable' reference"),
        ("no_such_module_xyz:make", "env: 'no_such_module_xyz:make': cannot import 'no_such_module_xyz'"),
        ("json:missing", "env: 'json:missing': 'json' has no attribute 'missing'"),
        ("json:__doc__", "env: 'json:__doc__': '__doc__' is a str, not a callable"),
    ],
)
def test_one_message_style(ref: str, message: str) -> None:
    with pytest.raises(RefError) as info:
        resolve_ref(ref, "env")
    assert str(info.value).startswith(message)


def test_check_does_not_import() -> None:
    assert check_ref("no_such_module_xyz:make", "policy") == "no_such_module_xyz:make"
    with pytest.raises(RefError, match="policy: 3 is not"):
        check_ref(3, "policy")


def test_an_env_module_that_imports_pygame_where_there_is_none_names_the_stand_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needs_pygame_xyz.py").write_text("import pygame\n\ndef make():\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "pygame", None)  # as in Pyodide: no pygame to import
    with pytest.raises(
        RefError, match=r"imports pygame, which has no Pyodide build; set GameScene\(pygame_stub=True\)"
    ):
        resolve_ref("needs_pygame_xyz:make", "env")
