"""``python -m kubedrift.devcluster.node``: run the node stand-in."""

import sys

from kubedrift.devcluster.node.agent import main

sys.exit(main())
