"""``python -m kubedrift_dev.devcluster.node``: run the node stand-in."""

import sys

from kubedrift_dev.devcluster.node.agent import main

sys.exit(main())
