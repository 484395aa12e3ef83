"""Local fakes of external services, speaking the real wire protocol over loopback HTTP."""
