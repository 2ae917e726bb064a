"""The value-based family's shared parts: IQL, VDN and QMIX are one Q-learning
update (``learner.py``) that differs only in how each team's Q-values are
mixed (none, their sum, QMIX's monotonic mixer), one epsilon-greedy policy
(``policy.py``), one settings class (``config.py``) and the team rules
(``teams.py``). Their registry entries live in ``algorithms/{iql,vdn,qmix}/``."""
