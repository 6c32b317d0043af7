"""vis4d.model.track."""
