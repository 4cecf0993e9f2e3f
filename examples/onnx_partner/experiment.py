"""A human-AI game with an ONNX partner: two paddles catch falling fruit, one yours, one the model's.

The partner is `partner.onnx` (built by `make_partner.py`), run in the participant's browser by
onnxruntime-web from the self-hosted bundle. Serve it with:

    .venv/bin/mug serve examples/onnx_partner/experiment.py
"""

from mug.configurations import EndScene, Experiment, GameScene, OnnxPolicy, StaticScene

experiment = Experiment(
    id="onnx-partner",
    title="Catch with an AI partner",
    scenes=[
        StaticScene(
            id="welcome",
            title="Catch, with a partner",
            body="You move one paddle with the left and right arrow keys. The other paddle is an AI partner: a "
            "small neural network that runs in your browser. Catch the fruit together!",
        ),
        GameScene(
            id="catch",
            title="Catch with an AI partner",
            env="mug.demos.catch_duo:make_env",
            agents={
                "left": "human",
                # the observation flattened to float32 [1, 9] is the model's input; argmax of its 3 logits
                # (left, stay, right) is the action; it decides every 2 frames and holds in between
                "right": OnnxPolicy(model="partner.onnx", output="argmax", act_every=2),
            },
            key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
            default_action=1,
            fps=30,
            num_episodes=2,
            max_steps=450,
            instructions="Hold the arrow keys to move your paddle. Your partner moves on its own.",
        ),
        EndScene(id="end", body="Thank you for playing!"),
    ],
)
