"""LLM clients, the agent loop, scripted agents and the trajectory schema (see the agents issue)."""
