import sys

from aframe_data.cli import main

sys.exit(main())
