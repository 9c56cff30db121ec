import sys

from workspace.commands import main

sys.exit(main())
