"""The run folder and what lives in it: the layout (``folder``), checkpoints,
metrics.csv, the actors' files and the reward plots."""
