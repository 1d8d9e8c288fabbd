import sys

from trail.cli import main

sys.exit(main())
