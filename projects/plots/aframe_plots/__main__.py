import sys

from aframe_plots.cli import main

sys.exit(main())
