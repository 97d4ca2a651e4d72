"""Speed benchmarks: the env beside a raw sandbox spawn and SWE-ReX, `synthml generate --n 100`, and rollouts on Ray,
each measured side by side on one machine. Experiments, not product: not shipped in the wheel (setup.py leaves
this package out); run them from a checkout's root, e.g. `python -m benchmarks.speed.env_speed --n 30`."""
