"""vis4d.data.datasets."""
