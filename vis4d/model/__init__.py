"""vis4d.model."""
