import sys

from dlbuilder.cli import main

sys.exit(main())
