"""vis4d.eval."""
