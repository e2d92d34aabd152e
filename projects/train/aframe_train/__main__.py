import sys

from aframe_train.cli import main

sys.exit(main())
