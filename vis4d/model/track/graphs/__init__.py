"""vis4d.model.track.graphs."""
