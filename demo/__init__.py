"""Demo-only code: the demo district, a fake WeCom API server and the chat simulator.
Production modules never import it at module level; the app factory mounts the simulator in demo mode."""
