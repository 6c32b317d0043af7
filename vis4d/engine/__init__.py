"""vis4d.engine."""
