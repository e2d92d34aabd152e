import sys

from aframe_online.cli import main

sys.exit(main())
