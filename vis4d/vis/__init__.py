"""vis4d.vis."""
