"""What researchers write: the experiment, its scenes, and remote (WebRTC) settings."""

from mug.client.agents import label as agent_label
from mug.configurations.experiment import Experiment, ExperimentError, load_experiment
from mug.configurations.remote import RemoteConfig, WebRTCConfig
from mug.configurations.scenes import (
    HUMAN,
    EndScene,
    GameScene,
    Lobby,
    Outcome,
    PointerGrid,
    Policy,
    Question,
    Scene,
    StaticScene,
)

__all__ = [
    "HUMAN",
    "EndScene",
    "Experiment",
    "ExperimentError",
    "GameScene",
    "Lobby",
    "Outcome",
    "PointerGrid",
    "Policy",
    "Question",
    "RemoteConfig",
    "Scene",
    "StaticScene",
    "WebRTCConfig",
    "agent_label",
    "load_experiment",
]
