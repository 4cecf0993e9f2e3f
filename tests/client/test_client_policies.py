import pytest
from gymnasium import spaces

from mug.client.policies import PolicyError, load_policy

SPACE = spaces.Discrete(3)


def test_loads_and_acts() -> None:
    import numpy as np

    act = load_policy("client_envs:make_policy", "a", SPACE, {"bias": 1})
    assert act(None, np.random.default_rng(0)) == 1


@pytest.mark.parametrize(
    ("ref", "match"),
    [
        ("nope", "is not a 'package.module:callable' reference"),
        ("no_such_module_xyz:make", "cannot import"),
        ("client_envs:missing", "no attribute"),
        ("client_envs:not_callable", "is a int, not a callable"),
        ("client_envs:returns_nothing", "returned NoneType"),
        ("client_envs:broken", "raised"),
    ],
)
def test_errors_name_the_problem(ref: str, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        load_policy(ref, "a", SPACE, {})
