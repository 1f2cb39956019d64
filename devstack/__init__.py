"""Development stack: Azurite, the sandbox upstreams and the local runner, started together."""
