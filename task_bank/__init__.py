"""Task schema, loading, the sample bank; catalog, generators and validator come with the task-bank issue."""
