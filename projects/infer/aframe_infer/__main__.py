import sys

from aframe_infer.cli import main

sys.exit(main())
