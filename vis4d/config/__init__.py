"""vis4d.config: the pydantic config schema, file loading (.toml/.yaml with bases) and overrides."""

from vis4d.config.load import dump_config, load_config, load_raw_config, validate_config, validate_trainer_options
from vis4d.config.overrides import apply_overrides, parse_cfg_options
from vis4d.config.schema import Config

__all__ = [
    "Config",
    "apply_overrides",
    "dump_config",
    "load_config",
    "load_raw_config",
    "parse_cfg_options",
    "validate_config",
    "validate_trainer_options",
]
