"""The SynthML-v0 environment, its sandboxes, ACI tools and evaluation runner."""
