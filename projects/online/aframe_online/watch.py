"""Watching the frame directories: which frames are there, and waiting for
the next one.

The search analyses one frame time at a time, and needs every ifo's
frame of it.  ``FrameWatcher.wait`` returns them as soon as they are all
on disk.  A frame that is late is waited for up to a timeout, but only
while nothing later has arrived: when later frames are there and the
timeout has passed, the frame is missing, and the watcher says where the
data go on (a gap).  While no data arrive at all (the detectors are not
observing), it waits as long as it takes.
"""

import logging
import os
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from aframe_online.frames import FrameName, frame_directory

logger = logging.getLogger("aframe_online")


@dataclass(frozen=True)
class FrameSet:
    """Every ifo's frame of one stretch of time."""

    gps: int
    duration: int
    paths: dict[str, Path]

    @cached_property
    def on_disk(self) -> float:
        """When the last of the frames was on disk (Unix s), as first
        asked: once they have been read."""
        return max(p.stat().st_mtime for p in self.paths.values())


@dataclass(frozen=True)
class Gap:
    """The frames from ``start`` to ``resume`` never arrived."""

    start: int
    resume: int


class FrameWatcher:
    """The frames of the ifos in their directories.

    Args:
        frame_dir: the frame directory; ``{ifo}`` in it is each ifo's.
        ifos: the interferometers, all of whose frames are needed.
        frame_type: the frame type in the names (``llhoft``).
        poll_interval: how often to look for new files (s).
    """

    def __init__(
        self,
        frame_dir: str | Path,
        ifos: list[str],
        frame_type: str,
        poll_interval: float = 0.02,
    ) -> None:
        self.directories = {i: frame_directory(frame_dir, i) for i in ifos}
        self.ifos = ifos
        self.frame_type = frame_type
        self.poll_interval = poll_interval

    def complete(self) -> dict[int, FrameSet]:
        """The frame times every ifo has a frame of, by GPS start."""
        found: dict[str, dict[int, tuple[int, Path]]] = {}
        for ifo, directory in self.directories.items():
            frames = found[ifo] = {}
            try:
                entries = list(os.scandir(directory))
            except FileNotFoundError:
                entries = []
            for entry in entries:
                name = FrameName.parse(entry.name)
                if (
                    name is not None
                    and name.ifo == ifo
                    and name.frame_type == self.frame_type
                ):
                    frames[name.gps] = (name.duration, Path(entry.path))
        first, *others = self.ifos
        sets = {}
        for gps, (duration, path) in found[first].items():
            paths = {first: path}
            for ifo in others:
                other = found[ifo].get(gps)
                if other is None or other[0] != duration:
                    break
                paths[ifo] = other[1]
            else:
                sets[gps] = FrameSet(gps, duration, paths)
        return sets

    def newest(self) -> int | None:
        """The GPS start of the newest complete frame time, if any."""
        return max(self.complete(), default=None)

    def wait(self, gps: int, timeout: float) -> FrameSet | Gap:
        """The frames that start at ``gps``, once all are on disk, or the
        gap that starts there once later frames have arrived and
        ``timeout`` seconds have passed."""
        started = time.monotonic()
        while True:
            sets = self.complete()
            if gps in sets:
                return sets[gps]
            later = [g for g in sets if g > gps]
            if later and time.monotonic() - started >= timeout:
                return Gap(gps, min(later))
            time.sleep(self.poll_interval)
