import sys

from aframe_export.cli import main

sys.exit(main())
