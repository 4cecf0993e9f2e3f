import json

import pytest

from mug.rendering import Surface, color_hex


def test_commands_in_order_and_json_able() -> None:
    s = Surface(200, 100, background=(10, 20, 30))
    s.clear()
    s.rect(1, 2, 3, 4, "#FF0000", fill=False, width=2, radius=1)
    s.circle(50, 50, 5, (0, 255, 0))
    s.ellipse(10, 10, 4, 2, "#0000ff", rotation=0.5)
    s.arc(20, 20, 5, 0, 3.14, "#ffffff", width=3)
    s.line(0, 0, 10, 10, "#123456")
    s.polygon([(0, 0), (10, 0), (5, 5)], "#654321")
    s.text("hi", 5, 5, size=12, align="center", baseline="middle", bold=True)
    s.image("/img/a.png", 0, 0, 16, 16)
    commands = s.to_commands()
    assert [c["op"] for c in commands] == [
        "fill",
        "rect",
        "circle",
        "ellipse",
        "arc",
        "line",
        "polygon",
        "text",
        "image",
    ]
    assert commands[0] == {"op": "fill", "color": "#0a141e"}
    assert commands[1] == {
        "op": "rect",
        "x": 1.0,
        "y": 2.0,
        "w": 3.0,
        "h": 4.0,
        "color": "#ff0000",
        "fill": False,
        "width": 2.0,
        "radius": 1.0,
    }
    assert commands[5]["points"] == [[0.0, 0.0], [10.0, 10.0]]
    assert commands[8]["frame"] is None
    json.dumps(s.payload())
    assert s.payload()["width"] == 200


def test_clear_forgets_earlier_commands() -> None:
    s = Surface(10, 10)
    s.circle(1, 1, 1, "#ffffff")
    s.clear()
    assert s.to_commands() == [{"op": "fill", "color": "#000000"}]


def test_relative_coordinates() -> None:
    s = Surface(200, 100)
    s.rect(0.5, 0.5, 0.25, 0.1, "#ffffff", relative=True)
    s.circle(0.5, 0.5, 0.1, "#ffffff", relative=True, width=3)
    rect, circle = s.to_commands()
    assert (rect["x"], rect["y"], rect["w"], rect["h"]) == (100.0, 50.0, 50.0, 10.0)
    assert circle["r"] == 10.0 and circle["width"] == 3.0  # radii scale by min(w, h); line widths stay pixels


def test_sprite_sheet_frames() -> None:
    s = Surface(100, 100)
    s.register_sheet("hero", "/sprites/hero.png", 16, 32, columns=4)
    s.image("hero", 0, 0, 16, 32, frame=5)
    s.image("hero", 0, 0, 16, 32, frame=(1, 2, 3, 4))
    a, b = s.to_commands()
    assert a["src"] == "/sprites/hero.png" and a["frame"] == [16, 32, 16, 32]
    assert b["frame"] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="register_sheet"):
        s.image("/other.png", 0, 0, 1, 1, frame=2)


@pytest.mark.parametrize("bad", ["red", "#12345", (1, 2), (0, 0, 300)])
def test_bad_colors(bad: object) -> None:
    with pytest.raises(ValueError, match="color"):
        color_hex(bad)  # type: ignore[arg-type]


def test_bad_text_options() -> None:
    with pytest.raises(ValueError, match="align"):
        Surface(10, 10).text("x", 0, 0, align="middle")
