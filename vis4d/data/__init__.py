"""vis4d.data."""
