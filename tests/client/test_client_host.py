import numpy as np
import pytest

from mug.client.host import EnvError, EnvHost, make_env


def test_cartpole_reset_and_step() -> None:
    host = EnvHost("gymnasium.envs.classic_control.cartpole:CartPoleEnv", {}, ["player"])
    assert host.single and host.agents == ["player"]
    obs = host.reset(3)
    assert set(obs) == {"player"} and obs["player"].shape == (4,)
    out = host.step({"player": 1})
    assert set(out.rewards) == {"player"} and out.rewards["player"] == 1.0
    again = EnvHost("gymnasium.envs.classic_control.cartpole:CartPoleEnv", {}, ["player"])
    np.testing.assert_array_equal(again.reset(3)["player"], obs["player"])


def test_render_mode_passed_when_accepted_and_dropped_when_refused() -> None:
    assert make_env("client_envs:make_counter", {}).render_mode == "rgb_array"
    assert make_env("client_envs:make_counter_no_render_mode", {}).render_mode is None


def test_rgb_frame_becomes_rgba() -> None:
    host = EnvHost("client_envs:make_counter", {}, ["player"])
    host.reset(0)
    payload, pixels = host.render()
    assert payload == {"kind": "rgb", "width": 6, "height": 4}
    assert pixels is not None and pixels.shape == (4, 6, 4) and pixels.dtype == np.uint8
    assert (pixels[..., 3] == 255).all() and (pixels[..., 0] == 200).all()


def test_surface_render_gives_draw_payload() -> None:
    host = EnvHost("mug.demos.catch:make_env", {"width": 300, "height": 200}, ["player"])
    host.reset(1)
    payload, pixels = host.render()
    assert pixels is None and payload["kind"] == "draw" and (payload["width"], payload["height"]) == (300, 200)
    assert payload["commands"][0]["op"] == "fill"


def test_parallel_env_by_agent() -> None:
    host = EnvHost("client_envs:make_pair", {}, ["a", "b"])
    assert host.kind == "parallel" and host.agents == ["a", "b"]
    obs = host.reset(5)
    assert set(obs) == {"a", "b"}
    for _ in range(3):
        out = host.step({"a": 1, "b": 2})
        assert not out.done
    out = host.step({"a": 1, "b": 2})
    assert out.done and out.rewards == {"a": 1.0, "b": 2.0} and all(out.terminated.values())
    assert host.render()[0]["kind"] == "draw"


def test_scene_agents_must_match_the_env() -> None:
    with pytest.raises(EnvError, match="agents"):
        EnvHost("client_envs:make_pair", {}, ["player"])
    with pytest.raises(EnvError, match="no controller"):
        EnvHost("client_envs:make_pair", {}, ["a"])
    with pytest.raises(EnvError, match="exactly one"):
        EnvHost("client_envs:make_counter", {}, ["a", "b"])


@pytest.mark.parametrize("keyed", [False, True])
def test_a_gymnasium_env_with_a_tuple_or_dict_action_is_played_by_several_agents(keyed: bool) -> None:
    host = EnvHost("client_envs:make_joint", {"keyed": keyed}, ["b", "a"], joint=True)
    assert host.joint and host.agents == ["a", "b"] and host.action_space("b").n == 3
    assert set(host.reset(1)) == {"a", "b"}
    out = host.step({"b": 2, "a": 0})
    assert host.env.last == ({"a": 0, "b": 2} if keyed else (0, 2))  # a Tuple in sorted agent order
    assert out.rewards == {"a": -2.0, "b": -2.0} and out.obs["a"].tolist() == [0, 2] and not out.done
    with pytest.raises(EnvError, match="exactly one"):
        EnvHost("client_envs:make_joint", {"keyed": keyed}, ["a", "b"])  # not a match: one agent only
    with pytest.raises(EnvError, match="Tuple"):
        EnvHost("client_envs:make_counter", {}, ["a", "b"], joint=True)


def test_an_aec_episode_ends_terminated_after_the_dead_steps() -> None:
    host = EnvHost("client_envs:make_turns", {}, ["first", "second", "bot"])
    host.reset(0)
    outcomes = [host.step_turn(1)[1] for _ in range(15)]  # 12 turns, then one dead step per agent
    assert not any(o.done for o in outcomes[:14])
    last = outcomes[-1]
    assert last.done and last.terminated == {"bot": True} and last.truncated == {"bot": False}


def test_bad_factory_reference() -> None:
    with pytest.raises(EnvError, match="no_such_module"):
        EnvHost("no_such_module:make_env", {}, ["player"])
