"""What the PPO family (IPPO, MAPPO, HAPPO) shares: the settings, the learner and the
stochastic policy. Each algorithm's folder holds its registry entry and defaults."""
