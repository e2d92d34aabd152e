"""The stage tasks of the aframe pipelines.

Each module holds the tasks of one stage; the pipelines that chain them are
in ``aframe.pipelines``.
"""
