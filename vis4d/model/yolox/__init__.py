"""YOLOX: CSPDarknet + PAFPN backbone, decoupled head, SimOTA assignment and losses."""
