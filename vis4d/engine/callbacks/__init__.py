"""vis4d.engine.callbacks."""
