"""End-to-end pipelines (``law run aframe.pipelines.sandbox.Sandbox``)."""
