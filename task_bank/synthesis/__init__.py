"""The LLM task-synthesis pipeline ("AI Scientist via Synthetic Task Scaling"), step by step:

topics (a research taxonomy the LLM expands) -> a dataset proposal per topic, verified on the Hub or
in the offline catalog -> the task's code (statement, data preparation, baseline, evaluator, reference
solution) -> the shared validator in the sandbox, its failures fed back to the LLM for up to K rounds
-> accepted into the bank or rejected with the reason. Every LLM call is logged in the bank, so a run
stopped at any point resumes without asking the LLM anything it already answered.
"""
