"""Small pieces shared by every layer: plain data structures, errors, file I/O."""
