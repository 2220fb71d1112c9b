"""``python -m cvxport``: see ``cvxport.cli``."""

import sys

from cvxport.cli import main

if __name__ == "__main__":
    sys.exit(main())
