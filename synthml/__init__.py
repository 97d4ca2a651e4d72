"""SynthML: synthetic ML research tasks as sandboxed Gymnasium environments.

Importing this package registers `SynthML-v0`, so `gym.make("synthml:SynthML-v0")` works with no
prior import. Nothing heavy is imported here.
"""

import gymnasium

__version__ = "0.1.0"

ENV_ID = "SynthML-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="synthml.envs.env:SynthMLEnv")
