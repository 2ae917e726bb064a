"""``python -m tf_maddpg`` is the ``tf-maddpg`` command."""

import sys

from tf_maddpg.cli import main

sys.exit(main())
