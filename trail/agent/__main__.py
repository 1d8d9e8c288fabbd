import sys

from trail.agent.cli import main

sys.exit(main())
