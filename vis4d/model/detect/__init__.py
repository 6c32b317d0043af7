"""vis4d.model.detect."""
