"""Pictures and videos of predictions: drawing (``draw``), MP4 files (``video``), per-frame output (``writer``).

This package takes numpy arrays and imports nothing from ``vis4d.model`` or
``vis4d.engine``; the engine's visualizer callback feeds it.
"""

from vis4d.vis.draw import class_color, draw_predictions, track_color
from vis4d.vis.video import VideoWriter, read_video_frame_count
from vis4d.vis.writer import FrameVisualizer

__all__ = ["FrameVisualizer", "VideoWriter", "class_color", "draw_predictions", "read_video_frame_count", "track_color"]
