"""Workflow mixins shared by the data and inference tasks."""

from pathlib import Path

import law

from aframe.segments import read_segments, split_segments


class Workflow(law.LocalWorkflow):
    """Where branches run: ``--workflow local`` (the default)."""

    def pending(self) -> law.LocalFileTarget:
        """The output of a branch whose segment list does not exist yet."""
        return law.LocalFileTarget(is_tmp="pending-segments")


class SegmentWorkflow(Workflow):
    """A workflow whose branches come from a segment list on disk.

    Until the segments file exists (a fresh experiment) the branch map is a
    single placeholder, the way law's dynamic workflows do it, and it is
    rebuilt on every call; once the file exists it is cached.
    """

    cache_branch_map_default = False
    max_duration: float

    def segments_file(self) -> Path:
        raise NotImplementedError

    def create_branch_map(self):
        path = self.segments_file()
        if not path.exists():
            return [None]
        self.cache_branch_map = True
        return split_segments(read_segments(path), self.max_duration)
