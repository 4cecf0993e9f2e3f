"""What researchers write: the experiment, its scenes, and remote (WebRTC) settings."""

from mug.client.agents import label as agent_label
from mug.configurations.conditions import Condition, Randomize, Repeat
from mug.configurations.entry import Entry
from mug.configurations.experiment import Experiment, ExperimentError, load_experiment
from mug.configurations.remote import RemoteConfig, WebRTCConfig
from mug.configurations.scenes import (
    HUMAN,
    EndScene,
    GameScene,
    Lobby,
    OnnxPolicy,
    Outcome,
    PointerGrid,
    Policy,
    Question,
    Scene,
    StaticScene,
)

__all__ = [
    "HUMAN",
    "Condition",
    "EndScene",
    "Entry",
    "Experiment",
    "ExperimentError",
    "GameScene",
    "Lobby",
    "Outcome",
    "PointerGrid",
    "OnnxPolicy",
    "Policy",
    "Question",
    "Randomize",
    "RemoteConfig",
    "Repeat",
    "Scene",
    "StaticScene",
    "WebRTCConfig",
    "agent_label",
    "load_experiment",
]
