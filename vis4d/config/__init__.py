"""vis4d.config."""
