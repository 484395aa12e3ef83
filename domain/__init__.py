"""The sales-performance rules: pure functions and the ports that adapters implement."""
